"""A user's own mesh as the flat press geometry (geometry.mesh_file) and `nipstack export`.

The imported mesh is an unstructured triangle mesh of the minimal case's foil + coating, made
with Gmsh here (and converted with meshio to an Abaqus .inp, whose element sets name the regions). A laterally confined
flat press is a homogeneous uniaxial-strain state in each layer, so any mesh of the section
must give the built strip's answers: coating thickness and porosity at the target, peak
pressure and springback to 1e-6 relative (measured: 1e-9 and below; what is left is the
Newton tolerance).
"""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from conftest import MINIMAL_CASE, run_cli

WIDTH, FOIL, COATING = 0.05, 0.015, 0.080


def _gmsh_section(path, names=("foil", "coating"), coating=COATING, size=0.012):
    """Foil and coating as unstructured triangles with the physical groups a flat press needs
    (mm, bottom at y = 0)."""
    import gmsh

    gmsh.initialize(interruptible=False)
    gmsh.option.setNumber("General.Terminal", 0)
    gmsh.model.add("section")
    occ = gmsh.model.occ
    foil = occ.addRectangle(0, 0, 0, WIDTH, FOIL)
    top = occ.addRectangle(0, FOIL, 0, WIDTH, coating)
    occ.fragment([(2, foil)], [(2, top)])
    occ.synchronize()
    gmsh.option.setNumber("Mesh.CharacteristicLengthMax", size)
    gmsh.model.mesh.generate(2)
    model = gmsh.model

    def lines_at(y=None, x=None):
        found = []
        for _, tag in model.getEntities(1):
            x0, y0, _, x1, y1, _ = model.getBoundingBox(1, tag)
            if y is not None and abs(y0 - y) < 1e-6 and abs(y1 - y) < 1e-6:
                found.append(tag)
            if x is not None and abs(x0 - x) < 1e-6 and abs(x1 - x) < 1e-6:
                found.append(tag)
        return found

    surfaces = sorted(model.getEntities(2), key=lambda e: model.getBoundingBox(*e)[1])
    model.addPhysicalGroup(2, [surfaces[0][1]], name=names[0])
    model.addPhysicalGroup(2, [surfaces[1][1]], name=names[1])
    model.addPhysicalGroup(1, lines_at(y=0.0), name="bottom")
    model.addPhysicalGroup(1, lines_at(y=FOIL + coating), name="top")
    model.addPhysicalGroup(1, lines_at(y=FOIL), name="interface_foil_coating")
    model.addPhysicalGroup(1, lines_at(x=0.0), name="left")
    model.addPhysicalGroup(1, lines_at(x=WIDTH), name="right")
    gmsh.write(str(path))
    gmsh.finalize()


def _write_inp(msh, inp, merge=True):
    """The Gmsh file as Abaqus .inp with one element set per group. merge: one cell block per
    cell type (meshio's Abaqus reader keeps only the last block of a set that spans several,
    so an unmerged file loses part of a side)."""
    import meshio

    mesh = meshio.read(msh)
    sets = {k: v for k, v in mesh.cell_sets.items() if not k.startswith("gmsh:")}
    if not merge:
        meshio.write(inp, meshio.Mesh(mesh.points, mesh.cells, cell_sets=sets))
        return
    kinds = sorted({block.type for block in mesh.cells})
    offsets = {}
    blocks = {kind: [] for kind in kinds}
    for index, block in enumerate(mesh.cells):
        offsets[index] = sum(len(b) for b in blocks[block.type])
        blocks[block.type].append(block.data)
    merged = {name: [np.concatenate([np.asarray(ids) + offsets[i]
                                     for i, ids in enumerate(per_block)
                                     if ids is not None and mesh.cells[i].type == kind]
                                    or [np.zeros(0, dtype=int)]) for kind in kinds]
              for name, per_block in sets.items()}
    meshio.write(inp, meshio.Mesh(mesh.points, [(k, np.vstack(blocks[k])) for k in kinds],
                                  cell_sets=merged))


def _case(tmp_path, mesh_name):
    path = tmp_path / "case.toml"       # (loading.lateral = "confined", the default)
    path.write_text(MINIMAL_CASE.replace("[geometry]\n",
                                         f'[geometry]\nmesh_file = "{mesh_name}"\n'))
    return path


def _run(tmp_path, case, name):
    out = tmp_path / name
    result = run_cli(["run", str(case), "--out", str(out), "--set", "output.plots=false"],
                     cwd=tmp_path)
    return result, out


@pytest.fixture(scope="module")
def built_results(tmp_path_factory):
    """The results folder of the minimal case on its built strip."""
    folder = tmp_path_factory.mktemp("built")
    case = folder / "case.toml"
    case.write_text(MINIMAL_CASE)
    result, out = _run(folder, case, "results")
    assert result.returncode == 0, result.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def built(built_results):
    return json.loads((built_results / "summary.json").read_text())


KEYS = ("thickness_under_load_mm", "final_thickness_mm", "final_porosity", "peak_pressure_MPa",
        "springback_strain")


@pytest.mark.parametrize("suffix", [".msh", ".inp"])
def test_imported_mesh_gives_the_built_strip_answers(built, tmp_path, suffix):
    import meshio

    _gmsh_section(tmp_path / "section.msh")
    if suffix == ".inp":        # Abaqus: the element sets (ELSET) are the groups
        _write_inp(tmp_path / "section.msh", tmp_path / "section.inp")
    result, out = _run(tmp_path, _case(tmp_path, f"section{suffix}"), "results")
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    for key in KEYS:
        assert summary[key] == pytest.approx(built[key], rel=1e-6), key
    assert (out / "mesh" / f"section{suffix}").is_file()       # the mesh the run used
    assert "section" in (out / "case.resolved.toml").read_text()


@pytest.mark.parametrize("problem,message", [
    ("missing", "no group named 'interface_foil_coating'"),
    ("thickness", "layer 'coating' is 0.07 mm high in the mesh but 0.08 mm in the case"),
    ("no file", "no file"),
    ("partial side", "group 'left' spans 0.08 mm of the section's 0.095 mm along y"),
])
def test_bad_mesh_files_are_refused_before_anything_is_written(tmp_path, problem, message):
    import gmsh  # noqa: F401

    if problem == "missing":
        _gmsh_section(tmp_path / "section.msh", names=("foil", "coating"))
        text = (tmp_path / "section.msh").read_text()    # drop one group's name
        (tmp_path / "section.msh").write_text(text.replace('"interface_foil_coating"',
                                                           '"interface_x"'))
    elif problem == "thickness":
        _gmsh_section(tmp_path / "section.msh", coating=0.070)
    elif problem == "partial side":
        _gmsh_section(tmp_path / "section.msh")
        _write_inp(tmp_path / "section.msh", tmp_path / "section.inp", merge=False)
    case = _case(tmp_path, "section.inp" if problem == "partial side" else "section.msh")
    result, out = _run(tmp_path, case, "results")
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and "geometry.mesh_file" in result.stderr, result.stderr
    assert not out.exists()
    checked = run_cli(["check", str(case)], cwd=tmp_path)
    assert checked.returncode == 2 and message in checked.stderr


def test_export_writes_the_fields_in_other_formats(tmp_path):
    """`nipstack export` writes a step of the fields with meshio; read back, the porosity and
    displacement equal the VTK file's (1e-12) in XDMF; Gmsh and Abaqus files have its nodes."""
    import meshio
    import pyvista

    case = tmp_path / "case.toml"
    case.write_text(MINIMAL_CASE)
    result, out = _run(tmp_path, case, "results")
    assert result.returncode == 0, result.stderr[-3000:]
    reader = pyvista.get_reader(str(out / "fields" / "fields.pvd"))
    reader.set_active_time_point(4)
    reference = reader.read().combine()
    for target in ("step5.xdmf", "step5.msh", "step5.inp"):
        done = run_cli(["export", str(out), "--to", str(tmp_path / target), "--step", "5"],
                       cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert "step 5" in done.stdout
        if target.endswith(".xdmf"):
            # read back in a fresh process: h5py's HDF5 and the one DOLFINx loaded into this
            # test process cannot share a process (a user script reading XDMF after
            # importing dolfinx hits the same; the nipstack command does not import dolfinx)
            read = subprocess.run(
                [sys.executable, "-c", "import json, sys, meshio; m = meshio.read(sys.argv[1]);"
                 "print(json.dumps({'points': len(m.points), 'u': m.point_data["
                 "'displacement_mm'].tolist(), 'porosity': [v for b in m.cell_data['porosity']"
                 " for v in b.tolist()], 'names': list(m.cell_data)}))", str(tmp_path / target)],
                capture_output=True, text=True, timeout=120)
            assert read.returncode == 0, read.stderr
            back = json.loads(read.stdout)
            assert back["points"] == reference.n_points
            assert np.allclose(back["u"], reference.point_data["displacement_mm"], atol=1e-12)
            assert np.allclose(back["porosity"], reference.cell_data["porosity"], atol=1e-12)
            assert not [name for name in back["names"] if name.startswith("vtk")]
        else:
            mesh = meshio.read(tmp_path / target)
            assert len(mesh.points) == reference.n_points
    again = run_cli(["export", str(out), "--to", str(tmp_path / "step5.xdmf")], cwd=tmp_path)
    assert again.returncode == 2 and "exists" in again.stderr
    beyond = run_cli(["export", str(out), "--to", str(tmp_path / "x.vtu"), "--step", "999"],
                     cwd=tmp_path)
    assert beyond.returncode == 2 and "has steps 1 to" in beyond.stderr


def test_export_to_msh_writes_gmsh_with_the_fields(built_results, tmp_path):
    """`--to F.msh` is Gmsh (meshio's first pick for .msh is ANSYS Fluent, without fields and
    unreadable by Gmsh): read back as Gmsh, the nodes carry displacement_mm and the cells
    porosity, as the VTK file of that step has them."""
    import meshio
    import pyvista

    target = tmp_path / "loaded.msh"
    done = run_cli(["export", str(built_results), "--to", str(target), "--step", "5"],
                   cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert target.read_text(errors="replace").startswith("$MeshFormat")
    mesh = meshio.read(target, file_format="gmsh")
    reader = pyvista.get_reader(str(built_results / "fields" / "fields.pvd"))
    reader.set_active_time_point(4)
    reference = reader.read().combine()
    assert np.allclose(mesh.point_data["displacement_mm"],
                       reference.point_data["displacement_mm"], atol=1e-12)
    assert np.allclose(np.concatenate(mesh.cell_data["porosity"]),
                       reference.cell_data["porosity"], atol=1e-12)


@pytest.mark.parametrize("target, words", [
    ("x.foo", ["no mesh format has the suffix '.foo'", ".xdmf", ".msh", ".vtu", "--format"]),
    ("no_such_folder/f.vtu", ["the folder", "no_such_folder", "does not exist"]),
])
def test_export_to_a_bad_target_is_one_message(built_results, tmp_path, target, words):
    """An unknown suffix (the accepted ones listed) or a missing folder: one line, exit 2,
    no traceback, nothing written."""
    done = run_cli(["export", str(built_results), "--to", str(tmp_path / target)],
                   cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
    for word in words:
        assert word in done.stderr, done.stderr
    assert not list(tmp_path.iterdir())
