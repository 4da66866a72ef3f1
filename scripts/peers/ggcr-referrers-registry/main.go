// ggcr-referrers-registry: go-containerregistry's pkg/registry (the in-memory
// registry ko's own tests use) with the OCI 1.1 referrers API switched on,
// which `crane registry serve` leaves off. Built offline from Debian's
// golang-github-google-go-containerregistry-dev sources (GOPATH mode) by
// scripts/test-peers. Usage: ggcr-referrers-registry [-addr 127.0.0.1:5002] [-disk DIR]
package main

import (
	"flag"
	"log"
	"net/http"
	"os"

	"github.com/google/go-containerregistry/pkg/registry"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:5002", "listen address")
	disk := flag.String("disk", "", "directory for blobs (default: memory)")
	flag.Parse()
	opts := []registry.Option{
		registry.WithReferrersSupport(true),
		registry.Logger(log.New(os.Stderr, "", log.LstdFlags)),
	}
	if *disk != "" {
		if err := os.MkdirAll(*disk, 0o755); err != nil {
			log.Fatal(err)
		}
		opts = append(opts, registry.WithBlobHandler(registry.NewDiskBlobHandler(*disk)))
	}
	log.Printf("serving OCI registry (referrers API on) at http://%s", *addr)
	log.Fatal(http.ListenAndServe(*addr, registry.New(opts...)))
}
