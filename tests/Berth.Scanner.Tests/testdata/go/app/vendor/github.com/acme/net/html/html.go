// Package html is a stub standing in for the real module's package.
package html

func Name() string { return "html" }
