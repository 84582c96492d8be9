"""One node process: wires consensus, mempool, state machine, store, network and timers.

`config.py` (typed TOML), `home.py` (the home directory and `init --dev`), `keys.py` (key
files), `durable.py` (the engine's write-ahead record in LMDB), `chain.py` (the application
side of consensus over the store and mempool, no asyncio), `node.py` (the event loop),
`metrics.py` (Prometheus), `supervisor.py` (`metanode up`: processes of a local network).
"""
