variable "name" {
  description = "Name of the existing target table (validated by the root module)."
  type        = string
}

variable "account" {
  description = "The target table's account when it is not this one (the root module's target_account, validated there): role_arn to assume for calls on the target, or null to call the table by its ARN through its resource-based policy."
  type = object({
    account_id  = string
    role_arn    = optional(string)
    external_id = optional(string)
    kms_key_arn = optional(string)
  })
  default = null
}
