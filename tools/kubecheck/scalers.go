package main

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// scalerParam is one parameter of a KEDA scaler, read from the `keda:"..."` tag KEDA's
// typed-config parser (pkg/scalers/scalersconfig) reads at run time.
type scalerParam struct {
	names     []string
	metadata  bool // may be given in the trigger's metadata
	fromEnv   bool // ... or as <name>FromEnv, read from the scale target's environment
	auth      bool // may come from a TriggerAuthentication
	required  bool
	enum      []string
	valueKind string // the Go type's kind: "string", "int64", "bool", ...
}

type scalerParams []scalerParam

// byName finds the parameter a metadata or authentication key names.
func (ps scalerParams) byName(key string) (scalerParam, bool) {
	for _, p := range ps {
		if slices.Contains(p.names, key) {
			return p, true
		}
	}
	return scalerParam{}, false
}

// readScalerParams parses KEDA's Go source for the struct a scaler's metadata is decoded
// into, and collects its tagged fields.
func readScalerParams(path, structName string) (scalerParams, error) {
	file, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
	if err != nil {
		return nil, err
	}
	underlying := map[string]string{} // local named types, e.g. type offsetResetPolicy string
	var fields *ast.FieldList
	ast.Inspect(file, func(n ast.Node) bool {
		spec, ok := n.(*ast.TypeSpec)
		if !ok {
			return true
		}
		switch t := spec.Type.(type) {
		case *ast.Ident:
			underlying[spec.Name.Name] = t.Name
		case *ast.StructType:
			if spec.Name.Name == structName {
				fields = t.Fields
			}
		}
		return true
	})
	if fields == nil {
		return nil, fmt.Errorf("%s: no struct %s", path, structName)
	}
	var params scalerParams
	for _, f := range fields.List {
		if f.Tag == nil {
			continue
		}
		tagText, err := strconv.Unquote(f.Tag.Value)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		tag, ok := reflect.StructTag(tagText).Lookup("keda")
		if !ok {
			continue
		}
		p := scalerParam{required: true, valueKind: typeKind(f.Type, underlying)}
		for _, part := range strings.Split(tag, ",") {
			key, value, _ := strings.Cut(strings.TrimSpace(part), "=")
			switch key {
			case "name":
				p.names = strings.Split(value, ";")
			case "order":
				orders := strings.Split(value, ";")
				p.metadata = slices.Contains(orders, "triggerMetadata")
				p.fromEnv = slices.Contains(orders, "resolvedEnv")
				p.auth = slices.Contains(orders, "authParams")
			case "optional", "default":
				p.required = false
			case "enum":
				p.enum = strings.Split(value, ";")
			}
		}
		if len(p.names) > 0 {
			params = append(params, p)
		}
	}
	if len(params) == 0 {
		return nil, fmt.Errorf("%s: struct %s has no keda-tagged fields", path, structName)
	}
	return params, nil
}

func typeKind(expr ast.Expr, underlying map[string]string) string {
	switch t := expr.(type) {
	case *ast.Ident:
		if u, ok := underlying[t.Name]; ok {
			return u
		}
		return t.Name
	case *ast.ArrayType:
		return "[]" + typeKind(t.Elt, underlying)
	}
	return "other"
}

// checkValue checks a parameter's value as KEDA's typed-config parser would read it.
func (p scalerParam) checkValue(value string) error {
	value = strings.TrimSpace(value)
	if len(p.enum) > 0 && !slices.Contains(p.enum, value) {
		return fmt.Errorf("%q is not one of %s", value, strings.Join(p.enum, ", "))
	}
	switch p.valueKind {
	case "int", "int32", "int64":
		if _, err := strconv.ParseInt(value, 10, 64); err != nil {
			return fmt.Errorf("%q is not an integer", value)
		}
	case "float64":
		if _, err := strconv.ParseFloat(value, 64); err != nil {
			return fmt.Errorf("%q is not a number", value)
		}
	case "bool":
		if _, err := strconv.ParseBool(value); err != nil {
			return fmt.Errorf("%q is not true or false", value)
		}
	}
	return nil
}

// scaledObject holds the fields of a KEDA ScaledObject the checks use; the schema check
// has already refused unknown fields.
type scaledObject struct {
	Metadata struct{ Name string } `json:"metadata"`
	Spec     struct {
		ScaleTargetRef struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Name       string `json:"name"`
		} `json:"scaleTargetRef"`
		MinReplicaCount *int32 `json:"minReplicaCount"`
		MaxReplicaCount *int32 `json:"maxReplicaCount"`
		Triggers        []struct {
			Type              string            `json:"type"`
			Name              string            `json:"name"`
			UseCachedMetrics  bool              `json:"useCachedMetrics"`
			Metadata          map[string]string `json:"metadata"`
			AuthenticationRef *struct {
				Name string `json:"name"`
				Kind string `json:"kind"`
			} `json:"authenticationRef"`
		} `json:"triggers"`
	} `json:"spec"`
	object object
}

type triggerAuthentication struct {
	Name string
	Spec struct {
		SecretTargetRef []struct {
			Parameter string `json:"parameter"`
			Name      string `json:"name"`
			Key       string `json:"key"`
		} `json:"secretTargetRef"`
	} `json:"spec"`
	object object
}

func checkScaledObject(r *report, o object, schemas *kedaSchemas) *scaledObject {
	if validateCustom(r, o, schemas.scaledObject) == nil {
		return nil
	}
	s := &scaledObject{object: o}
	if err := json.Unmarshal(o.Body, s); err != nil {
		r.add(o, "cannot decode: %v", err)
		return nil
	}
	// The rules of KEDA's admission webhook that need no cluster, and the CRD's CEL rule.
	if len(s.Spec.Triggers) == 0 {
		r.add(o, "spec.triggers: no triggers defined (KEDA refuses a ScaledObject without one)")
	}
	maxReplicas := int32(100) // KEDA's default maxReplicaCount
	if s.Spec.MaxReplicaCount != nil {
		maxReplicas = *s.Spec.MaxReplicaCount
	}
	if s.Spec.MinReplicaCount != nil && *s.Spec.MinReplicaCount > maxReplicas {
		r.add(o, "spec: minReplicaCount %d is above maxReplicaCount %d", *s.Spec.MinReplicaCount, maxReplicas)
	}
	names := map[string]bool{}
	for i, t := range s.Spec.Triggers {
		at := fmt.Sprintf("spec.triggers[%d]", i)
		if t.Name != "" && names[t.Name] {
			r.add(o, "%s: trigger name %q is used twice", at, t.Name)
		}
		names[t.Name] = true
		if t.UseCachedMetrics && (t.Type == "cpu" || t.Type == "memory" || t.Type == "cron") {
			r.add(o, "%s: useCachedMetrics is not supported by the %s scaler", at, t.Type)
		}
		if t.Type == "kafka" {
			checkKafkaMetadata(r, o, at, t.Metadata, schemas.kafka)
		}
	}
	return s
}

// checkKafkaMetadata: every key is a parameter of KEDA's Kafka scaler (a misspelt key is
// silently ignored by KEDA, so a misspelt lagThreshold would scale on its default of 10),
// the required ones are there, and values parse.
func checkKafkaMetadata(r *report, o object, at string, metadata map[string]string, params scalerParams) {
	for key, value := range metadata {
		name, fromEnv := strings.CutSuffix(key, "FromEnv")
		p, ok := params.byName(key)
		if !ok && fromEnv {
			p, ok = params.byName(name)
			ok = ok && p.fromEnv
		}
		if !ok || !(p.metadata || fromEnv) {
			r.add(o, "%s.metadata.%s: not a parameter of KEDA's kafka scaler", at, key)
			continue
		}
		if !fromEnv {
			if err := p.checkValue(value); err != nil {
				r.add(o, "%s.metadata.%s: %v", at, key, err)
			}
		}
	}
	for _, p := range params {
		if !p.required || p.auth {
			continue
		}
		found := false
		for _, name := range p.names {
			_, direct := metadata[name]
			_, env := metadata[name+"FromEnv"]
			found = found || direct || (env && p.fromEnv)
		}
		if !found {
			r.add(o, "%s.metadata: %s is required by KEDA's kafka scaler", at, p.names[0])
		}
	}
	if v, ok := metadata["lagThreshold"]; ok {
		if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil && n <= 0 {
			r.add(o, "%s.metadata.lagThreshold must be a positive number", at)
		}
	}
}

func checkTriggerAuthentication(r *report, o object, schemas *kedaSchemas) *triggerAuthentication {
	if validateCustom(r, o, schemas.triggerAuthentication) == nil {
		return nil
	}
	t := &triggerAuthentication{Name: o.Name, object: o}
	if err := json.Unmarshal(o.Body, t); err != nil {
		r.add(o, "cannot decode: %v", err)
		return nil
	}
	return t
}
