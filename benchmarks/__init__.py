"""Speed and quality measurements, run from the repository root as modules: python3 -m benchmarks.NAME"""
