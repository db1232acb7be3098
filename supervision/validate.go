package supervision

import "time"

// validate checks the flags and child specs and fills in defaults, with the
// errors OTP gives (A5, A6, A8, I5). At supervisor start child spec errors
// are marked InStart (OTP's {start_spec, …}).
func validate(spec *Spec, inStart bool) error {
	f := spec.Flags.withDefaults()
	if f.Strategy > SimpleOneForOne {
		return &SpecError{Field: "strategy", Value: f.Strategy, Err: ErrInvalidStrategy}
	}
	if f.Intensity < 0 {
		return &SpecError{Field: "intensity", Value: f.Intensity, Err: ErrInvalidIntensity}
	}
	if f.Period <= 0 || f.Period%time.Second != 0 {
		return &SpecError{Field: "period", Value: f.Period, Err: ErrInvalidPeriod}
	}
	if f.AutoShutdown > AllSignificant {
		return &SpecError{Field: "auto_shutdown", Value: f.AutoShutdown, Err: ErrInvalidAutoShutdown}
	}
	if f.Strategy == SimpleOneForOne && f.AutoShutdown != Never {
		return &SpecError{Field: "auto_shutdown", Value: f.AutoShutdown, Err: ErrBadCombination}
	}
	spec.Flags = f
	if spec.HistorySize <= 0 {
		spec.HistorySize = DefaultHistorySize
	}
	if f.Strategy == SimpleOneForOne && len(spec.Children) != 1 {
		return &SpecError{Field: "children", Value: len(spec.Children), Err: ErrBadStartSpec}
	}
	seen := make(map[string]bool, len(spec.Children))
	children := make([]ChildSpec, len(spec.Children))
	for i, c := range spec.Children {
		if err := validateChild(&c, f, inStart); err != nil {
			return err
		}
		if f.Strategy != SimpleOneForOne {
			if seen[c.ID] {
				return &SpecError{ID: c.ID, Field: "id", Value: c.ID, Err: ErrDuplicateChildName, InStart: inStart}
			}
			seen[c.ID] = true
		}
		children[i] = c
	}
	spec.Children = children
	return nil
}

// validateChild checks one child spec against the supervisor's flags and
// fills in its defaults.
func validateChild(c *ChildSpec, f Flags, inStart bool) error {
	bad := func(field string, v any, err error) error {
		return &SpecError{ID: c.ID, Field: field, Value: v, Err: err, InStart: inStart}
	}
	switch {
	case c.ID == "" && f.Strategy != SimpleOneForOne:
		return bad("id", c.ID, ErrMissingID)
	case c.Start == nil:
		return bad("start", nil, ErrMissingStart)
	case c.Restart > Temporary:
		return bad("restart", c.Restart, ErrInvalidRestartType)
	case c.Shutdown < Infinity:
		return bad("shutdown", c.Shutdown, ErrInvalidShutdown)
	case c.Type > SupervisorChild:
		return bad("type", c.Type, ErrInvalidChildType)
	case c.Significant && f.AutoShutdown == Never:
		return bad("significant", "auto_shutdown never", ErrBadCombination)
	case c.Significant && c.Restart == Permanent:
		return bad("significant", "restart permanent", ErrBadCombination)
	}
	*c = c.withDefaults()
	return nil
}
