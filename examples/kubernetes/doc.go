// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

// Package kubernetes holds no code: its test decodes the example manifests
// in this folder and the Helm chart's output strictly against the
// Kubernetes and Prometheus Operator API types. It is a module of its own
// so that the exporter's go.mod does not depend on Kubernetes.
package kubernetes
