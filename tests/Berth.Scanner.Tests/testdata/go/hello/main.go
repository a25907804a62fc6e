// A program that uses the standard library only: its build information names the
// toolchain (stdlib) and the main module, no dependency.
package main

import "fmt"

func main() { fmt.Println("hello") }
