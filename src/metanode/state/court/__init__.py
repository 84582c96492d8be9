"""court: disputes over execution receipts, settled by bisection and a one-step replay."""
