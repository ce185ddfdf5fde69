"""Benchmarks of autodiff against hand-written numpy and PyTorch: python benchmarks/run.py."""
