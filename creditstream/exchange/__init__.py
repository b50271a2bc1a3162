"""Exchange between platform levels (city, province, nation): what a peer platform is entitled to,
in the national 双公示 layout, as batches with manifests and receipts."""
