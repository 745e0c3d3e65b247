"""Layout of a calender run before anything is solved: the web's configuration, the thickness
reduction and contact length to expect, and the mesh along the web.

    inlet tail   |<-------------- fine process zone -------------->|   outlet tail
    ====coarse===|==================================================|===coarse====   -> x
                 | margin |<------ travel ------>| a | roll centres | a | margin |

The contact length is estimated as a = sqrt(R dh) with dh the reduction per roll (the gap under
gap control; from the material point under line-load control, `estimate_reduction`). The fine
zone is long enough that the material upstream of the contact at the start is drawn through the
whole nip (`travel`), so the exit zone has gone all the way through. The travel is a whole
number of steps (`calender.step_fraction` elements each) and the fine zone a whole number of
elements, so that the web's states are a whole number of elements of travel apart and the
steady rolling predictor (steady_predictor.py) finds each node's neighbour downstream.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..point import run_path


@dataclass(frozen=True)
class NipLayout:
    configuration: str         # "free_standing", "double_sided" or "single_sided"
    coating: object            # the roll-side layer (on top), a case layer
    dense_plastic_coating: bool
    layers_thickness: float    # the layers' total thickness, mm
    estimated_reduction: float  # thickness reduction dh of the web (both rolls), mm
    contact_estimate: float    # a = sqrt(R dh_per_roll), mm
    element_length: float      # along the web in the fine zone, mm
    travel: float              # web drawn through the nip while rolling, mm
    roughness_window: float | None   # longest roughness window of the interfaces, mm
    inlet_tail: float          # coarse tail before the fine zone, mm
    nip_x: float               # reference x of the roll centres, mm
    web_length: float          # mm
    segments: list             # (length, elements) of the graded mesh along the web

    @property
    def symmetric(self) -> bool:
        """Rolls on both faces move symmetrically (free-standing film, double-sided web)."""
        return self.configuration != "single_sided"


def is_dense_plastic(law) -> bool:
    """A dense (non-porous) plastic layer, e.g. a J2 lithium foil: it does not compact, it
    thins only by flowing sideways."""
    return getattr(law, "initial_porosity", 0.0) == 0.0 and hasattr(law, "yield_stress")


def estimate_reduction(law, thickness: float, radius: float, line_load: float) -> float:
    """Thickness reduction dh (mm) a line load w should give, from the material point alone.

    Uniaxial-strain compaction gives the axial stress sigma(dh); over the entry arc of length
    a = sqrt(R dh) the pressure rises from 0 to sigma, so w ~ sigma a / 2. Solved by bisection.
    Used only to lay out the mesh before the real nip is solved.

    A dense (non-porous) plastic layer (J2: lithium foil) does not compact: it thins only by
    flowing sideways, and in uniaxial strain its stress would rise with the bulk modulus
    (a reduction ~100x too small). For it the slab estimate of a layer squeezed between
    sticking faces is used instead (see `plastic_layer_reduction`)."""
    if is_dense_plastic(law):
        return plastic_layer_reduction(law, thickness, radius, line_load)

    path = run_path(law, "uniaxial-strain", steps=80, max_strain=0.7, unload=False)
    strains = -np.asarray(path["axial_strain"])
    stresses = -np.asarray(path["axial_stress"])

    def load(dh):
        strain = math.log(thickness / (thickness - dh))
        return 0.5 * np.interp(strain, strains, stresses) * math.sqrt(radius * dh)

    low, high = 1e-6 * thickness, (1 - math.exp(-strains.max())) * thickness
    for _ in range(80):
        middle = 0.5 * (low + high)
        low, high = (middle, high) if load(middle) < line_load else (low, middle)
    return 0.5 * (low + high)


def plastic_layer_reduction(law, thickness: float, radius: float, line_load: float) -> float:
    """Thickness reduction dh (mm) of a dense perfectly plastic layer (yield stress Y) on a
    stiff foil that a line load w gives, from the slab method (Johnson & Mellor, Engineering
    Plasticity, ch. 17): the roll indents the layer over a half-width b = sqrt(2 R dh) and the
    layer is squeezed out sideways between two sticking faces (tau = k = Y / sqrt(3): the
    roll's friction exceeds k at these pressures, the foil holds the bottom), so the pressure
    rises from 2k at the edges by 2k/h per unit length, p = 2k (1 + (b - |x|)/h), and

        w = 2k (2b + b^2 / h).

    A layer bonded to a foil that hardly stretches cannot thin by elongating, so rolling
    reaches about this static indentation (docs/lamination.md compares it with the solved
    nip). Used only to lay out the mesh and close the nip: the nip itself is solved."""
    k = float(law.yield_stress) / math.sqrt(3.0)
    b = thickness * (-1.0 + math.sqrt(1.0 + line_load / (2.0 * k * thickness)))
    return min(b * b / (2.0 * radius), 0.5 * thickness)


def configuration(layers, laws) -> str:
    """One layer: a free-standing film (rolls on both faces); three or more layers with porous
    outer layers: a double-sided coating (symmetric rolls); otherwise single-sided (the bottom
    roll carries the foil, the top roll presses the coating)."""
    porous = [laws[layer.name].initial_porosity > 0 for layer in layers]
    if len(layers) == 1:
        return "free_standing"
    if len(layers) >= 3 and porous[0] and porous[-1]:
        return "double_sided"
    return "single_sided"


def roughness_window(roughness) -> float:
    """The length the exit-zone uniformity of a rough interface is measured over: one
    wavelength of a sinusoid, 5 correlation lengths of a random surface."""
    if roughness.kind == "sinusoid":
        return roughness.wavelength
    return 5.0 * roughness.correlation_length


def lay_out(case, laws) -> NipLayout:
    """The layout of `case` (see the module)."""
    spec, layers = case.calender, case.layers
    shape = configuration(layers, laws)
    coating = layers[-1]
    thickness = sum(layer.thickness for layer in layers)
    if spec.control == "gap":
        reduction = thickness - spec.gap
    else:
        reduction = estimate_reduction(laws[coating.name], coating.thickness, spec.roll_radius,
                                       spec.line_load)
        if shape != "single_sided":
            reduction *= 2.0
    per_roll = reduction / (2.0 if shape != "single_sided" else 1.0)
    a = math.sqrt(spec.roll_radius * per_roll)
    # a rough interface is resolved whatever the contact length (the same roughness sampling
    # at every line load of a sweep): elements at most 1/8 of a sinusoid's wavelength or 1/4
    # of a random surface's correlation length
    element_length = min([a / spec.elements_per_contact_length] + [
        i.roughness.wavelength / 8.0 if i.roughness.kind == "sinusoid"
        else i.roughness.correlation_length / 4.0
        for i in case.interfaces if i.roughness is not None])
    travel = spec.travel_contact_lengths * a
    rough = [i.roughness for i in case.interfaces if i.roughness is not None]
    window = max(roughness_window(r) for r in rough) if rough else None
    if rough:
        # the exit zone (about the travel less two contact lengths) must hold two whole
        # roughness windows from crest to crest for its void closure and uniformity to mean
        # anything at any line load
        travel = max(travel, 2.0 * a + 4.0 * window)
    # a whole number of steps of exactly step_fraction elements (the steady rolling
    # predictor relates states a whole number of elements of travel apart)
    advance = spec.step_fraction * element_length
    travel = math.ceil(travel / advance * (1.0 - 1e-12)) * advance
    margin, tail = 0.5 * a, 2.0 * a
    fine_length = travel + 2.0 * a + 2.0 * margin
    # a whole number of elements of exactly element_length: the web advances by a fixed
    # fraction of an element each step, and the steady rolling predictor finds each node's
    # neighbour one element downstream
    n_fine = max(int(math.ceil(fine_length / element_length * (1.0 - 1e-12))), 4)
    fine_length = n_fine * element_length
    return NipLayout(
        configuration=shape, coating=coating,
        dense_plastic_coating=is_dense_plastic(laws[coating.name]),
        layers_thickness=thickness, estimated_reduction=reduction, contact_estimate=a,
        element_length=element_length, travel=travel, roughness_window=window,
        inlet_tail=tail, nip_x=tail + margin + travel + a, web_length=2 * tail + fine_length,
        segments=[(tail, 3), (fine_length, n_fine), (tail, 3)])
