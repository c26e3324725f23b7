"""UN Security Council Consolidated List: parsing, versioned snapshots, change reports."""
