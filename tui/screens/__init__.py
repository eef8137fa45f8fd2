"""One screen per module, its stylesheet beside it."""
