// Command kubecheck builds a kustomization with kustomize's own Go API and validates every
// object it produces, offline: Kubernetes objects are decoded strictly (an unknown or
// duplicate field is an error) into their k8s.io/api types and checked with apimachinery's
// validation, the ServiceMonitor into prometheus-operator's type, and KEDA's objects against
// the CustomResourceDefinitions KEDA ships, with the API server's own pruning and schema
// validation. References between the objects (selectors, ports, ConfigMaps, Secrets,
// scale targets) and the KEDA trigger's agreement with the worker's settings are checked
// too. It needs no cluster.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// object is one resource of the build: its identity and its JSON.
type object struct {
	APIVersion string          `json:"apiVersion"`
	Kind       string          `json:"kind"`
	Name       string          `json:"name"`
	Body       json.RawMessage `json:"object"`
}

func (o object) String() string { return o.Kind + "/" + o.Name }

func main() {
	asJSON := flag.Bool("json", false, "print the built objects as JSON instead of their kinds and names")
	kedaDir := flag.String("keda", "", "directory of the KEDA module (default: `go mod download` of KEDA "+kedaVersion+")")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: kubecheck [-json] [-keda DIR] KUSTOMIZATION_DIR")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	objects, err := build(flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, "invalid kustomization:", err)
		os.Exit(1)
	}
	schemas, err := loadKeda(*kedaDir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "cannot load KEDA's schemas:", err)
		os.Exit(1)
	}
	problems := validate(objects, schemas)
	if len(problems) > 0 {
		fmt.Fprintln(os.Stderr, "invalid manifests:")
		for _, problem := range problems {
			fmt.Fprintln(os.Stderr, "  -", problem)
		}
		os.Exit(1)
	}
	if *asJSON {
		out, err := json.MarshalIndent(objects, "", "  ")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println(string(out))
		return
	}
	for _, o := range objects {
		fmt.Println(o.APIVersion, o)
	}
}

// build runs kustomize on dir, as `kubectl apply -k` and `kustomize build` do.
func build(dir string) ([]object, error) {
	kustomizer := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	resources, err := kustomizer.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		return nil, err
	}
	var objects []object
	for _, r := range resources.Resources() {
		body, err := r.MarshalJSON()
		if err != nil {
			return nil, fmt.Errorf("%s/%s: %w", r.GetKind(), r.GetName(), err)
		}
		objects = append(objects, object{
			APIVersion: r.GetApiVersion(),
			Kind:       r.GetKind(),
			Name:       r.GetName(),
			Body:       body,
		})
	}
	if len(objects) == 0 {
		return nil, fmt.Errorf("%s builds no objects", dir)
	}
	return objects, nil
}
