"""faucet: on dev and testnet chains only, mint FLX or NEX to whoever asks, within limits per
request, per address per day and a cooldown, all measured by block timestamps."""
