"""Money accounts in integer minor units: mint, burn, transfer, supply."""
