output "arn" {
  description = "ARN of the target table."
  value       = local.arn
}

output "in_other_account" {
  description = "Whether the target table lives in another account."
  value       = local.in_other_account
}

output "role_arn" {
  description = "Role the callers assume for every call on the target, or null when they call it with their own credentials."
  value       = local.role_arn
}

output "kms_key_arn" {
  description = "Customer managed key of the target table that the callers' own roles must be allowed to use, or null."
  value       = local.kms_key_arn
}

output "lambda_environment" {
  description = "What a Lambda needs to reach the target (migration_core.target_access): TARGET_TABLE, the name it calls the table by (its ARN when in another account), and TARGET_ROLE_ARN / TARGET_ROLE_EXTERNAL_ID when a role is assumed."
  value = merge(
    { TARGET_TABLE = local.in_other_account ? local.arn : var.name },
    local.role_arn == null ? {} : { TARGET_ROLE_ARN = local.role_arn },
    try(var.account.external_id, null) == null ? {} : { TARGET_ROLE_EXTERNAL_ID = var.account.external_id },
  )
}

output "assume_role_statement" {
  description = "The IAM statement that lets a caller assume role_arn (null without a role): its only permission on the target."
  value = local.role_arn == null ? null : {
    Sid      = "AssumeTargetAccountRole"
    Effect   = "Allow"
    Action   = ["sts:AssumeRole"]
    Resource = local.role_arn
  }
}
