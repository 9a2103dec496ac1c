"""Software upgrades planned by governance: the migrations this app implements (registry), and
what happens at a plan's height (runner): the migration runs at the start of FinalizeBlock, or an
app without it stops before executing the block."""
