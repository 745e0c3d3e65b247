"""The nodes, cells and facet groups of a structured stack (``meshes.stack.build_stack``), and
their Gmsh model: discrete entities, one physical group per layer, band and boundary, built on
rank 0 and distributed by DOLFINx.

Rows of nodes run bottom to top: the bottom face, then each layer's element rows (graded by
the layer's ``grading``: row fractions (r^e - 1)/(r^n - 1), or e/n for r = 1) and, below a band
interface, the band's top face (one band cell row). Every row has a node in every column
(x, and z in 3D), so neighbouring layers' nodes pair up in vertical columns. Gmsh node tags
run from 1, row by row; the crossed-triangle centre nodes follow.
"""
from __future__ import annotations

import numpy as np

from .gmsh_session import gmsh_model
from .partition import cost_partitioner

#: Gmsh element type numbers
GMSH_LINE, GMSH_TRIANGLE, GMSH_QUADRANGLE, GMSH_HEXAHEDRON = 1, 2, 3, 5


def layer_row_fractions(layer) -> np.ndarray:
    """Heights of the layer's element rows above its bottom face, as fractions of its local
    thickness: e/n, or (r^e - 1)/(r^n - 1) for a grading r != 1 (e = 1..n)."""
    r = float(layer.grading)
    if abs(r - 1.0) < 1e-12:
        return np.arange(1, layer.elements + 1) / layer.elements
    return (r ** np.arange(1, layer.elements + 1) - 1.0) / (r ** layer.elements - 1.0)


def stack_rows(layers, faces, band_at: dict):
    """The rows of the stack: (rows: y over the columns, bottom to top; cell_blocks: (group
    name, r) for the cells between rows r and r + 1; row_names: {r: facet group of row r})."""
    rows = [faces[0][1]]
    cell_blocks = []
    row_names = {0: "bottom"}
    current = 0
    for k, layer in enumerate(layers):
        bottom = faces[k][1]
        top = faces[k + 1][0]
        for fraction in layer_row_fractions(layer):
            rows.append(bottom + (top - bottom) * fraction)
            cell_blocks.append((layer.name, current))
            current += 1
        if k + 1 == len(layers):
            row_names[current] = "top"
        elif (k + 1) in band_at:
            spec = band_at[k + 1]
            row_names[current] = f"{spec.name}_bottom"
            rows.append(faces[k + 1][1])
            cell_blocks.append((spec.name, current))
            current += 1
            row_names[current] = f"{spec.name}_top"
        else:
            row_names[current] = f"interface_{layer.name}_{layers[k + 1].name}"
    return rows, cell_blocks, row_names


def node_grid(rows, X, Z, dim: int):
    """(node_id: Gmsh tags (rows,) + column shape, from 1; coords: (nodes, 3))."""
    shape = X.shape
    n_rows = len(rows)
    node_id = np.arange(n_rows * X.size).reshape((n_rows,) + shape) + 1
    coords = np.zeros((n_rows,) + shape + (3,))
    for r in range(n_rows):
        coords[r, ..., 0] = X
        coords[r, ..., 1] = rows[r]
        if dim == 3:
            coords[r, ..., 2] = Z
    return node_id, coords.reshape(-1, 3)


def cells_2d(cell_blocks, row_names, node_id, coords, cell_type: str, layer_names):
    """(cells, facets: {group: node-tag tuples}, extra_nodes: crossed-triangle centres) of a
    2D stack: a layer quadrilateral whole, or as four triangles through its centre; a band
    cell as two triangles with one vertical edge each."""
    cells, facets, extra_nodes = {}, {}, []
    next_node = coords.shape[0] + 1
    nx = node_id.shape[1] - 1
    for name, r in cell_blocks:
        for i in range(nx):
            bl, br = node_id[r, i], node_id[r, i + 1]
            tl, tr = node_id[r + 1, i], node_id[r + 1, i + 1]
            if cell_type == "quadrilateral":
                cells.setdefault(name, []).append((bl, br, tr, tl))
            elif name in layer_names:
                extra_nodes.append(coords[[bl - 1, br - 1, tr - 1, tl - 1]].mean(axis=0))
                c = next_node
                next_node += 1
                cells.setdefault(name, []).extend(
                    [(bl, br, c), (br, tr, c), (tr, tl, c), (tl, bl, c)])
            else:   # band: two triangles, one vertical edge each
                cells.setdefault(name, []).extend([(bl, br, tr), (bl, tr, tl)])
        # lateral faces
        facets.setdefault("left", []).append((node_id[r, 0], node_id[r + 1, 0]))
        facets.setdefault("right", []).append((node_id[r, nx], node_id[r + 1, nx]))
    for r, name in row_names.items():
        for i in range(nx):
            facets.setdefault(name, []).append((node_id[r, i], node_id[r, i + 1]))
    return cells, facets, extra_nodes


def cells_3d(cell_blocks, row_names, node_id):
    """(cells, facets: {group: node-tag tuples}) of a 3D stack of hexahedra."""
    cells, facets = {}, {}
    nx, nz = node_id.shape[1] - 1, node_id.shape[2] - 1
    for name, r in cell_blocks:
        n0 = node_id[r]
        n1 = node_id[r + 1]
        for i in range(nx):
            for k in range(nz):
                cells.setdefault(name, []).append(
                    (n0[i, k], n0[i + 1, k], n1[i + 1, k], n1[i, k],
                     n0[i, k + 1], n0[i + 1, k + 1], n1[i + 1, k + 1], n1[i, k + 1]))
        for k in range(nz):
            facets.setdefault("left", []).append(
                (n0[0, k], n0[0, k + 1], n1[0, k + 1], n1[0, k]))
            facets.setdefault("right", []).append(
                (n0[nx, k], n1[nx, k], n1[nx, k + 1], n0[nx, k + 1]))
        for i in range(nx):
            facets.setdefault("front", []).append(
                (n0[i, 0], n1[i, 0], n1[i + 1, 0], n0[i + 1, 0]))
            facets.setdefault("back", []).append(
                (n0[i, nz], n0[i + 1, nz], n1[i + 1, nz], n1[i, nz]))
    for r, name in row_names.items():
        for i in range(nx):
            for k in range(nz):
                facets.setdefault(name, []).append(
                    (node_id[r, i, k], node_id[r, i + 1, k], node_id[r, i + 1, k + 1],
                     node_id[r, i, k + 1]))
    return cells, facets


def stack_elements(layers, faces, band_at: dict, X, Z, dim: int, cell_type: str):
    """Nodes (coords (n, 3)), cells and facets {group name: node-tag tuples} of the stack."""
    rows, cell_blocks, row_names = stack_rows(layers, faces, band_at)
    node_id, coords = node_grid(rows, X, Z, dim)
    if dim == 3:
        cells, facets = cells_3d(cell_blocks, row_names, node_id)
        return coords, cells, facets
    cells, facets, extra_nodes = cells_2d(cell_blocks, row_names, node_id, coords, cell_type,
                                          {layer.name for layer in layers})
    if extra_nodes:
        coords = np.vstack([coords, np.array(extra_nodes)])
    return coords, cells, facets


def stack_mesh_data(elements, comm, dim: int, layers, cell_type: str, costs=None):
    """The Gmsh model of `elements` (``stack_elements``, rank 0; None elsewhere): a discrete
    entity and physical group per layer (bottom to top), then per band, then per facet group;
    distributed by DOLFINx. Returns dolfinx.io.gmsh.MeshData."""
    from dolfinx.io import gmsh as gmshio

    with gmsh_model("stack") as model:
        if comm.rank == 0:
            coords, cells, facets = elements
            if dim == 2:
                cell_type_id = GMSH_QUADRANGLE if cell_type == "quadrilateral" else GMSH_TRIANGLE
                facet_type_id = GMSH_LINE
            else:
                cell_type_id, facet_type_id = GMSH_HEXAHEDRON, GMSH_QUADRANGLE
            layer_names = [layer.name for layer in layers]
            order = layer_names + [name for name in cells if name not in layer_names]
            element_tag = 1
            for index, name in enumerate(order):
                entity = model.addDiscreteEntity(dim)
                if index == 0:
                    model.mesh.addNodes(dim, entity, np.arange(1, coords.shape[0] + 1),
                                        coords.ravel())
                element_tag = _add_elements(model, entity, cell_type_id, cells[name],
                                            element_tag)
                model.addPhysicalGroup(dim, [entity], name=name)
            for name, connectivity in facets.items():
                entity = model.addDiscreteEntity(dim - 1)
                element_tag = _add_elements(model, entity, facet_type_id, connectivity,
                                            element_tag)
                model.addPhysicalGroup(dim - 1, [entity], name=name)
        return gmshio.model_to_mesh(model, comm, 0, gdim=dim,
                                    partitioner=cost_partitioner(model, comm, costs))


def _add_elements(model, entity: int, type_id: int, connectivity, first_tag: int) -> int:
    """Add the elements (node-tag tuples) to `entity`, tagged from first_tag; returns the
    next free tag."""
    connectivity = np.asarray(connectivity, dtype=np.int64)
    tags = np.arange(first_tag, first_tag + len(connectivity))
    model.mesh.addElementsByType(entity, type_id, tags, connectivity.ravel())
    return first_tag + len(connectivity)
