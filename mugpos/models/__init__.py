"""Models: the catalog, the verified store, and the detectors and embedders built from them."""
