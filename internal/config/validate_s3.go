package config

import (
	"net/url"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go/aws/endpoints"
)

// Limits and values of distribution v3.1.2's s3-aws driver
// (registry/storage/driver/s3-aws/s3.go, s3_64bit.go): a value outside them
// makes the driver refuse to start, or, for loglevel, silently log nothing.
const (
	s3MinChunkSize = 5 << 20 // S3's multipart minimum part size
	s3MaxChunkSize = 5 << 30 // S3's maximum part size
)

var (
	// s3StorageClasses are the driver's instant-retrieval classes; it
	// upper-cases the option before comparing.
	s3StorageClasses = []string{"NONE", "STANDARD", "REDUCED_REDUNDANCY",
		"STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING", "OUTPOSTS",
		"GLACIER_IR", "EXPRESS_ONEZONE"}
	// s3ObjectACLs are S3's canned ACLs; the driver compares them as given.
	s3ObjectACLs = []string{"private", "public-read", "public-read-write",
		"authenticated-read", "aws-exec-read", "bucket-owner-read",
		"bucket-owner-full-control"}
	// s3LogLevels are the aws-sdk log levels; the driver lower-cases them.
	s3LogLevels = []string{"off", "debug", "debugwithsigning",
		"debugwithhttpbody", "debugwithrequestretries",
		"debugwithrequesterrors", "debugwitheventstreambody"}
)

// checkS3 checks the S3 options when S3 storage is in use (region and
// bucket set); otherwise they are inert and their defaults do not matter.
func (c Config) checkS3(v *validator) {
	if !c.UsesS3() {
		return
	}
	if e := c.StorageS3RegionEndpoint; e != "" && !isHTTPURL(e) {
		v.add("storage-s3-regionendpoint", "must be an absolute http or https URL (e.g. https://s3.example.com)")
	}
	if c.StorageS3RegionEndpoint == "" && !isAWSRegion(c.StorageS3Region) {
		v.add("storage-s3-region", "must be an AWS region such as us-east-1 (got %q), or set storage-s3-regionendpoint for other S3 services", c.StorageS3Region)
	}
	c.checkS3Signing(v)
	c.checkS3Values(v)
	c.checkS3Sizes(v)
}

func (c Config) checkS3Signing(v *validator) {
	// Credentials are used only as a pair; one alone would silently fall
	// back to instance credentials.
	v.pair("storage-s3-accesskey", c.StorageS3AccessKey, "storage-s3-secretkey", c.StorageS3SecretKey)
	if c.StorageS3KeyID != "" && !c.StorageS3Encrypt {
		v.add("storage-s3-keyid", "is only used with storage-s3-encrypt=true; set that or unset this")
	}
	// storage-s3-skip-v4-auth keeps the reference's documented meaning
	// "use v4 auth", i.e. the driver's v4auth; the driver refuses v2
	// signing against AWS itself.
	if !c.StorageS3SkipV4Auth && isAWSEndpoint(c.StorageS3RegionEndpoint) {
		v.add("storage-s3-skip-v4-auth", "must be true on Amazon S3 (it means \"use v4 authentication\"); v2 signing needs a non-AWS storage-s3-regionendpoint")
	}
}

// isAWSRegion reports whether the s3-aws driver knows region: it checks
// the same aws-sdk partitions when no regionendpoint is set.
func isAWSRegion(region string) bool {
	for _, p := range endpoints.DefaultPartitions() {
		if _, ok := p.Regions()[region]; ok {
			return true
		}
	}
	return false
}

func isAWSEndpoint(endpoint string) bool {
	return endpoint == "" || strings.Contains(endpoint, "s3.amazonaws.com")
}

func (c Config) checkS3Values(v *validator) {
	if !slices.Contains(s3StorageClasses, strings.ToUpper(c.StorageS3StorageClass)) {
		v.add("storage-s3-storageclass", "must be one of %s (got %q)", strings.Join(s3StorageClasses, ", "), c.StorageS3StorageClass)
	}
	if !slices.Contains(s3ObjectACLs, c.StorageS3ObjectACL) {
		v.add("storage-s3-objectacl", "must be one of %s (got %q)", strings.Join(s3ObjectACLs, ", "), c.StorageS3ObjectACL)
	}
	if !slices.Contains(s3LogLevels, strings.ToLower(c.StorageS3LogLevel)) {
		v.add("storage-s3-loglevel", "must be one of %s (got %q)", strings.Join(s3LogLevels, ", "), c.StorageS3LogLevel)
	}
	if e := c.StorageS3RegionEndpoint; e != "" {
		if u, err := url.Parse(e); err == nil && u.User != nil {
			v.add("storage-s3-regionendpoint", "must not carry credentials; use storage-s3-accesskey and storage-s3-secretkey")
		}
	}
}

func (c Config) checkS3Sizes(v *validator) {
	v.between("storage-s3-chunksize", c.StorageS3ChunkSize, s3MinChunkSize, s3MaxChunkSize)
	v.between("storage-s3-multipartcopychunksize", c.StorageS3MultipartCopyChunkSize, s3MinChunkSize, s3MaxChunkSize)
	v.between("storage-s3-multipartcopythresholdsize", c.StorageS3MultipartCopyThresholdSize, 0, s3MaxChunkSize)
	if c.StorageS3MultipartCopyMaxConcurrency < 1 {
		v.add("storage-s3-multipartcopymaxconcurrency", "must be at least 1 (got %d)", c.StorageS3MultipartCopyMaxConcurrency)
	}
}

func (v *validator) between(option string, value, lo, hi int) {
	if value < lo || value > hi {
		v.add(option, "must be between %d and %d bytes (got %d)", lo, hi, value)
	}
}
