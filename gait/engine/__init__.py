"""The one run path: source -> `RunEngine` (sessions, one pipeline per device, the coach, the
run clock) -> typed events (`gait.engine.events`) -> sinks (local store, InfluxDB, live bus,
cues, terminal). `gait live`, `record`, `replay` and `demo` and the benchmarks all run here.

    engine = open_engine(RunOptions(...), devices=source.devices)   # gait.engine.setup
    summary = asyncio.run(run_source(source, engine))                # gait.engine.driver
"""
