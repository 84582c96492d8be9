"""Layer 3: QBFT consensus as a pure state machine, `step(state, event) -> (state, actions)`.

No I/O, no clock, no randomness and no threads: time arrives inside events, and every effect
(send, persist, schedule, commit) leaves as an action that the node or the simulator carries out.
"""
