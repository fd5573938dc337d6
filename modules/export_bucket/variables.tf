# Internal module: the root module calls it with its own variables, which hold every default and validation.
# Types only here; see the root module's variable export for what each setting means.

variable "name" {
  description = "The root module's name: the bucket's name starts with it (lower case, at most 29 characters of it)."
  type        = string
}

variable "prefix" {
  description = "The prefix the deployment's exports go under, without leading or trailing slash (the root module's export.prefix/name): what the lifecycle rule expires."
  type        = string
}

variable "expiry_days" {
  description = "Days after which an export's objects are deleted (the root module's export.expiry_days)."
  type        = number
}

variable "kms_key_arn" {
  description = "Customer managed key of the bucket's default encryption (the root module's kms_key_arn), or null for SSE-S3 (AES256)."
  type        = string
}

variable "force_destroy" {
  description = "Let terraform destroy delete the bucket with objects still in it (the root module's export.force_destroy)."
  type        = bool
}

variable "tags" {
  description = "Tags for every resource of this module."
  type        = map(string)
}
