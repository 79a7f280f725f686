package check

// Falsy says what a query's first column held when it is not true or non-zero, or "" when it
// is: the rule of the sql check, shared with the sql steps of restore drills.
func Falsy(v any) string { return falsy(v) }
