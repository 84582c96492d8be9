"""bank: balances in four denominations (GEN, NEX, FLX, AUR), transfers, fees in FLX to the
block's proposer, and the supply of each denomination (genesis + mints − burns)."""
