// A program whose output does not depend on the image it runs in: the message is embedded
// at build time, so the runtime stage needs nothing but the binary.
package main

import (
	_ "embed"
	"fmt"
	"os"
	"runtime"
)

//go:embed message.txt
var message string

func main() {
	fmt.Print(message)
	fmt.Printf("built with %s for %s/%s, args %q\n", runtime.Version(), runtime.GOOS, runtime.GOARCH, os.Args[1:])
}
