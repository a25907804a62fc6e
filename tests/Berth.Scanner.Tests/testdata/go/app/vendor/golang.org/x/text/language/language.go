// Package language is a stub standing in for the real module's package.
package language

func Tag() string { return "en" }
