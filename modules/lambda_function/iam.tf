resource "aws_iam_role" "this" {
  name = var.function_name
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "LambdaAssumeRole"
      Effect    = "Allow"
      Action    = "sts:AssumeRole"
      Principal = { Service = "lambda.amazonaws.com" }
    }]
  })

  tags = var.tags
}

locals {
  own_policies = merge(
    {
      logs = jsonencode({
        Version = "2012-10-17"
        Statement = [{
          Sid      = "WriteOwnLogGroup"
          Effect   = "Allow"
          Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
          Resource = "${aws_cloudwatch_log_group.this.arn}:*"
        }]
      })
    },
    var.lambda_settings.tracing_enabled ? {
      xray = jsonencode({
        Version = "2012-10-17"
        Statement = [{
          Sid    = "XRayWrite"
          Effect = "Allow"
          Action = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
          # X-Ray's write actions support no resource-level permissions.
          Resource = "*"
        }]
      })
    } : {},
  )
}

resource "aws_iam_role_policy" "logs" {
  name   = "logs"
  role   = aws_iam_role.this.id
  policy = local.own_policies["logs"]
}

resource "aws_iam_role_policy" "xray" {
  count = var.lambda_settings.tracing_enabled ? 1 : 0

  name   = "xray"
  role   = aws_iam_role.this.id
  policy = local.own_policies["xray"]
}

resource "aws_iam_role_policy" "this" {
  for_each = var.policies

  name   = each.key
  role   = aws_iam_role.this.id
  policy = each.value
}
