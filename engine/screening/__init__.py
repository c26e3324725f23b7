"""Party, vessel and entity screening against UN list snapshots and the designated-vessel register."""
