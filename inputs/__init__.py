"""What users give the harness, on the ground floor: the one shape of an input error
(``errors.FieldError``: the file, the field, the problem) and the grammar of durations
(``durations``). Every package of the product imports these; they import nothing of it."""
