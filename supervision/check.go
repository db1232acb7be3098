package supervision

// CheckChildSpecs checks child specs without starting anything, as a
// one_for_one supervisor with auto_shutdown auto checks them when it
// starts: every spec valid, every id present and unique. It returns nil
// or the first problem, a *SpecError (OTP's supervisor:check_childspecs/2).
func CheckChildSpecs(specs []ChildSpec, auto AutoShutdown) error {
	s := Spec{Flags: Flags{AutoShutdown: auto}, Children: specs}
	return validate(&s, false)
}
