// Loads Compose files with compose-go, the loader Docker Compose itself uses: the Compose
// specification's schema, interpolation, anchors and merges, and its consistency checks
// (services a service depends on exist, volumes are declared, ...). Prints one line per file and
// exits 1 at the first file it refuses.
//
//	go run . ../../../deploy/docker-compose.yml
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/compose-spec/compose-go/v2/cli"
)

func main() {
	for _, path := range os.Args[1:] {
		options, err := cli.NewProjectOptions(
			[]string{path},
			cli.WithWorkingDirectory(filepath.Dir(path)),
			cli.WithEnv([]string{"CLICKHOUSE_PASSWORD=x", "JOURNEY_WRITE_KEYS=web:x"}),
			cli.WithConsistency(true),
			cli.WithResolvedPaths(true),
		)
		if err == nil {
			var project interface{ ServiceNames() []string }
			project, err = options.LoadProject(context.Background())
			if err == nil {
				fmt.Printf("%s: %d services\n", path, len(project.ServiceNames()))
				continue
			}
		}
		fmt.Printf("%s: %v\n", path, err)
		os.Exit(1)
	}
}
