"""Entry points for developers and CI: the demo, the benchmark, Molecule, the target image builder, the version matrix."""
