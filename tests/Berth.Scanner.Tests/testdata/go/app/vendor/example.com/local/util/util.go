// Package util is a stub standing in for the real module's package.
package util

func Name() string { return "util" }
