"""Write the small inputs of examples/ttbar_emu.py: lepton scale factors (correctionlib JSON)
and a good-run list for the generated data (ATLAS GRL XML).  The factors are illustrative
numbers of the usual size (a few per cent, binned in |eta| and pT), not a measurement.

    python examples/data/make_inputs.py
"""

from __future__ import annotations

from pathlib import Path

import correctionlib.schemav2 as cs

HERE = Path(__file__).resolve().parent


def lepton_sf(
    name: str, eta_edges: list[float], pt_edges: list[float], base: float
) -> cs.Correction:
    """A scale factor in (syst, |eta|, pt): nominal, and up/down by its uncertainty."""

    def table(shift: float) -> cs.MultiBinning:
        content = []
        for i in range(len(eta_edges) - 1):
            for j in range(len(pt_edges) - 1):
                value = base - 0.01 * i + 0.004 * j
                content.append(round(value + shift * (0.01 + 0.002 * i), 6))
        return cs.MultiBinning(
            nodetype="multibinning",
            inputs=["abseta", "pt"],
            edges=[eta_edges, pt_edges],
            content=content,
            flow="error",
        )

    return cs.Correction(
        name=name,
        version=1,
        description=f"{name}: illustrative scale factor for the eμ example (not a measurement)",
        inputs=[
            cs.Variable(name="syst", type="string", description="nominal, up or down"),
            cs.Variable(name="abseta", type="real", description="|eta|"),
            cs.Variable(name="pt", type="real", description="pT [GeV]"),
        ],
        output=cs.Variable(name="weight", type="real"),
        data=cs.Category(
            nodetype="category",
            input="syst",
            content=[
                cs.CategoryItem(key="nominal", value=table(0.0)),
                cs.CategoryItem(key="up", value=table(1.0)),
                cs.CategoryItem(key="down", value=table(-1.0)),
            ],
        ),
    )


def main() -> None:
    corrections = cs.CorrectionSet(
        schema_version=2,
        description="illustrative lepton scale factors for examples/ttbar_emu.py",
        corrections=[
            lepton_sf("electron_id", [0.0, 1.37, 1.52, 2.47], [20.0, 40.0, 60.0, 1e9], 0.98),
            lepton_sf("muon_id", [0.0, 1.05, 2.5], [20.0, 40.0, 60.0, 1e9], 0.99),
        ],
    )
    (HERE / "lepton_sf.json").write_text(corrections.model_dump_json(exclude_unset=True, indent=1))
    ranges = "\n".join(
        f'        <LBRange Start="{a}" End="{b}"/>' for a, b in ((1, 2), (5, 2400), (2451, 5000))
    )
    (HERE / "grl_generated.xml").write_text(
        f"""<?xml version="1.0" ?>
<!-- A good-run list for afkit's generated data (run 440000): lumi blocks 3-4 and 2401-2450
     are "bad", so that the mask removes events.  Illustrative, not a real ATLAS GRL. -->
<LumiRangeCollection>
  <NamedLumiRange>
    <Name>afkit_generated_data</Name>
    <LumiBlockCollection>
        <Run>440000</Run>
{ranges}
    </LumiBlockCollection>
  </NamedLumiRange>
</LumiRangeCollection>
"""
    )


if __name__ == "__main__":
    main()
