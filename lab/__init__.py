"""mtcheck's lab: training, fitting, evaluation and benchmarks. Not part of the installed product.

It imports the product and measures only through its public API (`mtcheck.Checker`,
`mtcheck.load_metric`), so every metric is measured the same way. Run it as `python -m lab ...`.
"""
