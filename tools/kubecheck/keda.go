package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/objectmeta"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	crvalidation "k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/yaml"
)

// kedaVersion is the KEDA release whose CRDs and Kafka scaler the manifests are checked
// against. KEDA's Go API package is not imported: it pulls in client-go and
// controller-runtime, which tripled the checker's build time; the CRDs are generated from
// those same Go types.
const kedaVersion = "v2.21.0"

// crdSchema is one version of a CustomResourceDefinition, ready to validate objects the
// way the API server does: prune unknown fields, then validate against the schema.
type crdSchema struct {
	structural *structuralschema.Structural
	validator  crvalidation.SchemaValidator
}

type kedaSchemas struct {
	scaledObject          *crdSchema
	triggerAuthentication *crdSchema
	kafka                 scalerParams
}

// loadKeda reads the ScaledObject and TriggerAuthentication CRDs and the Kafka scaler's
// parameters from the KEDA module (downloaded into the Go module cache when dir is "").
func loadKeda(dir string) (*kedaSchemas, error) {
	if dir == "" {
		var err error
		if dir, err = downloadModule("github.com/kedacore/keda/v2@" + kedaVersion); err != nil {
			return nil, err
		}
	}
	bases := filepath.Join(dir, "config", "crd", "bases")
	scaled, err := loadCRD(filepath.Join(bases, "keda.sh_scaledobjects.yaml"), "v1alpha1")
	if err != nil {
		return nil, err
	}
	auth, err := loadCRD(filepath.Join(bases, "keda.sh_triggerauthentications.yaml"), "v1alpha1")
	if err != nil {
		return nil, err
	}
	kafka, err := readScalerParams(filepath.Join(dir, "pkg", "scalers", "kafka_scaler.go"), "kafkaMetadata")
	if err != nil {
		return nil, err
	}
	return &kedaSchemas{scaledObject: scaled, triggerAuthentication: auth, kafka: kafka}, nil
}

// downloadModule fetches a module through the Go module proxy (checked against the
// checksum database) and returns its directory. It runs outside this module, so that
// go.mod and go.sum stay as they are.
func downloadModule(module string) (string, error) {
	cmd := exec.Command("go", "mod", "download", "-json", module)
	cmd.Dir = os.TempDir()
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod")
	out, err := cmd.Output()
	var info struct{ Dir, Error string }
	if jsonErr := json.Unmarshal(out, &info); jsonErr == nil && info.Error != "" {
		return "", fmt.Errorf("go mod download %s: %s", module, info.Error)
	}
	if err != nil {
		return "", fmt.Errorf("go mod download %s: %w", module, err)
	}
	if info.Dir == "" {
		return "", fmt.Errorf("go mod download %s gave no directory", module)
	}
	return info.Dir, nil
}

func loadCRD(path, version string) (*crdSchema, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var crd apiextensionsv1.CustomResourceDefinition
	if err := yaml.UnmarshalStrict(data, &crd); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for _, v := range crd.Spec.Versions {
		if v.Name != version || v.Schema == nil || v.Schema.OpenAPIV3Schema == nil {
			continue
		}
		var internal apiextensions.JSONSchemaProps
		if err := apiextensionsv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(v.Schema.OpenAPIV3Schema, &internal, nil); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		structural, err := structuralschema.NewStructural(&internal)
		if err != nil {
			return nil, fmt.Errorf("%s: not a structural schema: %w", path, err)
		}
		validator, _, err := crvalidation.NewSchemaValidator(&internal)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return &crdSchema{structural: structural, validator: validator}, nil
	}
	return nil, fmt.Errorf("%s has no schema for version %s", path, version)
}

// validateCustom checks a custom resource as the API server would on create with strict
// field validation: fields the schema does not know are errors (the server would prune
// them), then metadata, then the schema itself (types, enums, required fields, formats).
func validateCustom(r *report, o object, schema *crdSchema) map[string]any {
	var obj map[string]any
	if err := json.Unmarshal(o.Body, &obj); err != nil {
		r.add(o, "cannot decode: %v", err)
		return nil
	}
	var pruned map[string]any
	_ = json.Unmarshal(o.Body, &pruned) // pruning edits its argument: give it a copy
	unknown := pruning.PruneWithOptions(pruned, schema.structural, true, structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true})
	for _, path := range unknown {
		r.add(o, "unknown field %q", path)
	}
	r.fields(o, objectmeta.Validate(context.Background(), nil, obj, schema.structural, true))
	r.fields(o, crvalidation.ValidateCustomResource(nil, obj, schema.validator))
	if meta, ok := obj["metadata"]; ok {
		var m metav1.ObjectMeta
		data, _ := json.Marshal(meta)
		if err := json.Unmarshal(data, &m); err != nil {
			r.add(o, "metadata: %v", err)
		} else {
			r.fields(o, apivalidation.ValidateObjectMeta(&m, m.Namespace != "", apivalidation.NameIsDNSSubdomain, field.NewPath("metadata")))
		}
	}
	if len(unknown) > 0 {
		return nil
	}
	return obj
}
