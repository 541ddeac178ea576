"""What several test modules (and the benchmarks) share: reference pipelines, tiny checkpoints, a bridge
process, doubles of the DAWs, signal generators."""
