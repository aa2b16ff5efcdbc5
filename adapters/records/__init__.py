"""Record stores: the storage primitives every backend implements once, and what is written over them."""
