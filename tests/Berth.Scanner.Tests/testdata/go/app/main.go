// A program with vendored stub dependencies (built offline with -mod=vendor):
//   - golang.org/x/text v0.3.5, a version with known advisories;
//   - github.com/acme/net, replaced by golang.org/x/net at a pseudo-version;
//   - example.com/local, replaced by a local directory (no version).
package main

import (
	"fmt"

	"example.com/local/util"
	"github.com/acme/net/html"
	"golang.org/x/text/language"
)

func main() { fmt.Println(language.Tag(), html.Name(), util.Name()) }
