"""apps: the app registry on chain. A deploy records a WASM module the cage accepts as an app
(id = BLAKE3 of the module) with its owner, replicas, fuel price and per-call fuel limit; an
upgrade adds a version; a call is ordered by a per-app sequence number and escrows its fuel in
FLX until the notary's LogBlock settles it (`rules.settle_call`)."""
