# The slow scenario runs (test_simulator, test_real_crypto) take 300–360 s on the 2-core VM
# (02:36 UTC 2026-12-08: 352 s and 309 s), past the suite's 300 s per test.
SCENARIOS_TIMEOUT_S = 1200
