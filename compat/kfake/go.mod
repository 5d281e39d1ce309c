// The fake cluster behind `npm run compat` and `npm run kfake` (see main.go).
// kfake is its own module with no tagged releases: this is the newest commit the proxy lists
// (2026-09-18). Its go.mod names franz-go v1.21.7, whose kversion lacks the
// EachSupportedFeature and EachFinalizedFeature it calls; franz-go v1.22.3 has them.
module kafka-wire/compat/kfake

go 1.26.0

require github.com/twmb/franz-go/pkg/kfake v0.0.0-20260918054303-01f206a7e32c

require (
	github.com/klauspost/compress v1.20.3 // indirect
	github.com/pierrec/lz4/v4 v4.1.33 // indirect
	github.com/twmb/franz-go v1.22.3 // indirect
	github.com/twmb/franz-go/pkg/kmsg v1.15.1 // indirect
)
