"""Writers: each output of a study (tables, report, web map, print kit, atlas, fiches)."""
