// Command hello is rko's example app: it prints a greeting, the time in two zones (proving the
// base image carries time-zone data), and a file from $KO_DATA_PATH (the image's kodata).
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"
)

var version = "dev"

func main() {
	file := flag.String("f", "greeting.txt", "file under $KO_DATA_PATH to print")
	flag.Parse()

	fmt.Printf("hello from rko's example app (version %s, %s/%s)\n", version, runtime.GOOS, runtime.GOARCH)

	now := time.Now()
	newYork, err := time.LoadLocation("America/New_York")
	if err != nil {
		fmt.Fprintln(os.Stderr, "no time-zone data:", err)
		os.Exit(1)
	}
	fmt.Printf("UTC: %s, New York: %s\n", now.UTC().Format(time.Kitchen), now.In(newYork).Format(time.Kitchen))

	content, err := os.ReadFile(filepath.Join(os.Getenv("KO_DATA_PATH"), *file))
	if err != nil {
		fmt.Fprintln(os.Stderr, "cannot read kodata:", err)
		os.Exit(1)
	}
	fmt.Print(string(content))
}
