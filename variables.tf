variable "name" {
  description = "Prefix of every resource name, for example orders-v2 (gives orders-v2-backfill, orders-v2-state, ...)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z][A-Za-z0-9-]{0,31}$", var.name)) && !endswith(var.name, "-")
    error_message = "name must start with a letter, be at most 32 characters of letters, digits and hyphens, and not end with a hyphen (derived names must fit the 64-character Lambda and IAM limits)."
  }
}

variable "source_table_name" {
  description = "Name of the existing DynamoDB table to migrate from (in this account and region)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]{3,255}$", var.source_table_name))
    error_message = "source_table_name must be a DynamoDB table name: 3-255 letters, digits, underscores, hyphens and dots."
  }
}

variable "target_table_name" {
  description = "Name of the existing DynamoDB table to migrate to. Use the source table's name for an in-place migration."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]{3,255}$", var.target_table_name))
    error_message = "target_table_name must be a DynamoDB table name: 3-255 letters, digits, underscores, hyphens and dots."
  }
}

variable "target_region" {
  description = <<-EOT
    Region of the target table when it is not the provider's region (null: the provider's region, where the source
    is). The worker, the replication forwarder and consumer, and ddb-migrate verify, plan and run make their target
    clients for this region, call the table by its ARN in it (a table of the same name may be the source), and IAM
    names that ARN. Every item then crosses regions: each write takes a cross-region round trip, and AWS charges
    inter-region data transfer per GB on top of the target's writes (see AWS's pricing page). The module cannot read
    a table in another region, so it does not check the target at plan time. Pre-warm raises only the source there
    and reports that it left the target alone. Works with target_account for a target in another account and region.
  EOT
  type        = string
  default     = null

  validation {
    # The shape of every region name: us-east-1, eu-central-2, ap-southeast-4, us-gov-west-1, cn-north-1.
    condition     = var.target_region == null || can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$", var.target_region))
    error_message = "target_region must be an AWS region name such as eu-west-1."
  }
}

variable "target_account" {
  description = <<-EOT
    The target table lives in another AWS account (in target_region, else this region); null when it is in this one. Two ways to reach it:
    with role_arn, the Lambdas assume that role (in the target's account) for every call on the target table;
    without it, they call the table by its ARN, which the table's resource-based policy must allow. The output
    cross_account gives the policies the target's account attaches for either way. kms_key_arn: the target
    table's customer managed key, needed without role_arn when the table is encrypted with one.
  EOT
  type = object({
    account_id  = string
    role_arn    = optional(string)
    external_id = optional(string)
    kms_key_arn = optional(string)
  })
  default = null

  validation {
    condition     = var.target_account == null || can(regex("^[0-9]{12}$", var.target_account.account_id))
    error_message = "target_account.account_id must be a 12-digit AWS account ID."
  }

  validation {
    condition = var.target_account == null || try(var.target_account.role_arn == null, true) || can(regex(
      "^arn:aws[a-z-]*:iam::${try(var.target_account.account_id, "")}:role/[A-Za-z0-9+=,.@_/-]{1,512}$", var.target_account.role_arn
    ))
    error_message = "target_account.role_arn must be the ARN of an IAM role in target_account.account_id (arn:aws:iam::<account_id>:role/<name>)."
  }

  validation {
    condition     = var.target_account == null || try(var.target_account.external_id == null, true) || try(var.target_account.role_arn != null && length(var.target_account.external_id) >= 2 && length(var.target_account.external_id) <= 1224 && can(regex("^[A-Za-z0-9_+=,.@:/-]+$", var.target_account.external_id)), false)
    error_message = "target_account.external_id needs target_account.role_arn and must be 2-1224 characters of letters, digits and _+=,.@:/-."
  }

  validation {
    condition     = var.target_account == null || try(var.target_account.kms_key_arn == null, true) || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:${try(var.target_account.account_id, "")}:key/[A-Za-z0-9-]+$", var.target_account.kms_key_arn))
    error_message = "target_account.kms_key_arn must be the ARN of a KMS key in target_account.account_id (arn:aws:kms:<region>:<account_id>:key/<id>)."
  }

  validation {
    # A table's customer managed key is in the table's region: DynamoDB uses only keys of its own region.
    condition     = var.target_account == null || var.target_region == null || try(var.target_account.kms_key_arn == null, true) || try(split(":", var.target_account.kms_key_arn)[3] == var.target_region, false)
    error_message = "target_account.kms_key_arn must be a key in target_region (${coalesce(var.target_region, "-")}), the target table's region."
  }
}

variable "total_segments" {
  description = "Default number of parallel Scan segments of a backfill run; an execution input may override it. Each segment is one child workflow of the Distributed Map."
  type        = number
  default     = 16

  validation {
    condition     = var.total_segments >= 1 && var.total_segments <= 10000 && floor(var.total_segments) == var.total_segments
    error_message = "total_segments must be a whole number from 1 to 10,000: every segment is one Distributed Map child, a Map Run runs at most 10,000 children at once, and the segment list must fit the 256 KiB state payload."
  }
}

variable "max_concurrency" {
  description = "How many segments run at once (Distributed Map MaxConcurrency), 1-10,000. Each running segment holds one worker execution for up to worker.timeout, out of the account's Lambda concurrency (1,000 per region by default, shared with every other function); further segments wait for a free slot instead of being throttled."
  type        = number
  default     = 50
  nullable    = false

  validation {
    condition     = var.max_concurrency >= 1 && var.max_concurrency <= 10000 && floor(var.max_concurrency) == var.max_concurrency
    error_message = "max_concurrency must be a whole number from 1 to 10,000 (the Distributed Map maximum)."
  }
}

variable "tolerated_failure_percentage" {
  description = "Percentage of segments that may fail before the run fails (Distributed Map ToleratedFailurePercentage). The default 0 fails the run on the first failed segment."
  type        = number
  default     = 0

  validation {
    condition     = var.tolerated_failure_percentage >= 0 && var.tolerated_failure_percentage <= 100
    error_message = "tolerated_failure_percentage must be from 0 to 100."
  }
}

variable "worker" {
  description = <<-EOT
    Settings of the backfill worker Lambda:
    memory_size (MB, 128-10240; CPU scales with it), timeout (seconds, 10-900),
    write_concurrency (BatchWriteItem calls in flight per invocation, 1-64),
    max_write_attempts (attempts per 25-item chunk before the segment fails, 1-100),
    backoff_base_ms and backoff_cap_ms (full-jitter exponential backoff between attempts),
    time_safety_margin_seconds (the worker stops at a page boundary this long before its timeout),
    scan_page_limit (items per Scan page, 1-10000; null = DynamoDB's 1 MB pages; smaller pages checkpoint
    more often),
    reserved_concurrency (null = unreserved; else the worker's reserved concurrency, at least max_concurrency:
    it guarantees the run that many executions and caps it there, so the application's functions keep the
    rest of the account's concurrency),
    invocations_per_child (1-250, default 250: worker invocations one Distributed Map child makes before it
    hands the rest of its segment to the Map's next pass, which keeps each child under Step Functions' 25,000
    history events per execution even if every invocation used all its retries; each pass adds about 13 events
    to the parent execution, so a segment can take up to about 1,800 passes of this many invocations).
  EOT
  type = object({
    memory_size                = optional(number, 1024)
    timeout                    = optional(number, 900)
    write_concurrency          = optional(number, 8)
    max_write_attempts         = optional(number, 10)
    backoff_base_ms            = optional(number, 50)
    backoff_cap_ms             = optional(number, 20000)
    time_safety_margin_seconds = optional(number, 60)
    scan_page_limit            = optional(number)
    reserved_concurrency       = optional(number)
    invocations_per_child      = optional(number, 250)
  })
  default  = {}
  nullable = false

  validation {
    condition     = var.worker.memory_size >= 128 && var.worker.memory_size <= 10240 && floor(var.worker.memory_size) == var.worker.memory_size
    error_message = "worker.memory_size must be a whole number of MB from 128 to 10240."
  }

  validation {
    condition     = var.worker.timeout >= 10 && var.worker.timeout <= 900 && floor(var.worker.timeout) == var.worker.timeout
    error_message = "worker.timeout must be a whole number of seconds from 10 to 900 (Lambda's maximum)."
  }

  validation {
    condition     = var.worker.write_concurrency >= 1 && var.worker.write_concurrency <= 64 && floor(var.worker.write_concurrency) == var.worker.write_concurrency
    error_message = "worker.write_concurrency must be a whole number from 1 to 64."
  }

  validation {
    condition     = var.worker.max_write_attempts >= 1 && var.worker.max_write_attempts <= 100 && floor(var.worker.max_write_attempts) == var.worker.max_write_attempts
    error_message = "worker.max_write_attempts must be a whole number from 1 to 100."
  }

  validation {
    condition     = var.worker.backoff_base_ms >= 1 && var.worker.backoff_base_ms <= 10000 && floor(var.worker.backoff_base_ms) == var.worker.backoff_base_ms
    error_message = "worker.backoff_base_ms must be a whole number of milliseconds from 1 to 10000."
  }

  validation {
    condition     = var.worker.backoff_cap_ms >= var.worker.backoff_base_ms && var.worker.backoff_cap_ms <= 300000 && floor(var.worker.backoff_cap_ms) == var.worker.backoff_cap_ms
    error_message = "worker.backoff_cap_ms must be a whole number of milliseconds, at least worker.backoff_base_ms and at most 300000."
  }

  validation {
    condition     = var.worker.time_safety_margin_seconds >= 1 && var.worker.time_safety_margin_seconds < var.worker.timeout && floor(var.worker.time_safety_margin_seconds) == var.worker.time_safety_margin_seconds
    error_message = "worker.time_safety_margin_seconds must be a whole number of seconds, at least 1 and less than worker.timeout."
  }

  validation {
    condition     = var.worker.scan_page_limit == null || try(var.worker.scan_page_limit >= 1 && var.worker.scan_page_limit <= 10000 && floor(var.worker.scan_page_limit) == var.worker.scan_page_limit, false)
    error_message = "worker.scan_page_limit must be null (1 MB pages) or a whole number of items from 1 to 10,000."
  }

  validation {
    condition     = var.worker.reserved_concurrency == null || try(var.worker.reserved_concurrency >= 1 && floor(var.worker.reserved_concurrency) == var.worker.reserved_concurrency, false)
    error_message = "worker.reserved_concurrency must be null (unreserved) or a whole number of at least 1."
  }

  validation {
    # Plan, pre-warm and summary invocations run only while no Map does, so the Maps' children have the whole
    # reservation; children beyond it would only wait in the throttling retrier.
    condition     = var.worker.reserved_concurrency == null || try(var.max_concurrency <= var.worker.reserved_concurrency, false)
    error_message = "max_concurrency exceeds worker.reserved_concurrency: the segments beyond the reservation would only be throttled. Lower max_concurrency or raise worker.reserved_concurrency."
  }

  validation {
    # An invocation with every retry used takes 93 history events (modules/backfill/definition.tf): 250 of
    # them take 23,250 of the 25,000 an execution may have.
    condition     = var.worker.invocations_per_child >= 1 && var.worker.invocations_per_child <= 250 && floor(var.worker.invocations_per_child) == var.worker.invocations_per_child
    error_message = "worker.invocations_per_child must be a whole number from 1 to 250 (Step Functions caps an execution at 25,000 history events, and one invocation with all its retries takes 93)."
  }
}

variable "transform" {
  description = <<-EOT
    How each item is transformed on its way to the target.
    steps run in order; each has op and attribute, plus:
      set       value    - one AttributeValue as JSON, for example jsonencode({ S = "migrated" }) (B values in base64)
      rename    to       - the new attribute name
      remove             - nothing else
      timestamp format   - iso8601 (default), epoch_seconds or epoch_millis
      derive    template - a new S attribute from other attributes, for example "{tenant}#{id}"
    custom_file is an optional Python file defining transform(item), called after the steps; it is
    packaged as custom_transform.py. Relative paths are relative to the directory Terraform runs in.
  EOT
  type = object({
    steps = optional(list(object({
      op        = string
      attribute = string
      value     = optional(string)
      to        = optional(string)
      template  = optional(string)
      format    = optional(string)
    })), [])
    custom_file = optional(string)
  })
  default  = {}
  nullable = false

  validation {
    condition     = alltrue([for s in var.transform.steps : contains(["set", "rename", "remove", "timestamp", "derive"], s.op)])
    error_message = "Every transform step's op must be one of set, rename, remove, timestamp or derive."
  }

  validation {
    condition     = alltrue([for s in var.transform.steps : length(s.attribute) > 0])
    error_message = "Every transform step needs a non-empty attribute."
  }

  validation {
    condition = alltrue([
      for s in var.transform.steps : s.op != "set" || try(
        length(keys(jsondecode(s.value))) == 1 &&
        contains(["S", "N", "B", "BOOL", "NULL", "M", "L", "SS", "NS", "BS"], keys(jsondecode(s.value))[0]) &&
        can(tonumber(lookup(jsondecode(s.value), "N", "0"))) &&
        lookup(jsondecode(s.value), "NULL", true) == true,
        false
      )
    ])
    error_message = "A set step's value must be one DynamoDB AttributeValue as JSON with exactly one type key (S, N, B, BOOL, NULL, M, L, SS, NS or BS), for example jsonencode({ S = \"migrated\" }) or jsonencode({ N = \"42\" })."
  }

  validation {
    condition     = alltrue([for s in var.transform.steps : s.op != "rename" || try(length(s.to) > 0 && s.to != s.attribute, false)])
    error_message = "A rename step needs `to`: a non-empty attribute name different from `attribute`."
  }

  validation {
    condition     = alltrue([for s in var.transform.steps : s.op != "derive" || try(length(s.template) > 0, false)])
    error_message = "A derive step needs a non-empty template, for example \"{tenant}#{id}\"."
  }

  validation {
    condition     = alltrue([for s in var.transform.steps : s.op != "timestamp" || s.format == null || contains(["iso8601", "epoch_seconds", "epoch_millis"], coalesce(s.format, "iso8601"))])
    error_message = "A timestamp step's format must be iso8601, epoch_seconds or epoch_millis."
  }

  validation {
    condition = alltrue([
      for s in var.transform.steps : alltrue([
        s.value == null || s.op == "set",
        s.to == null || s.op == "rename",
        s.template == null || s.op == "derive",
        s.format == null || s.op == "timestamp",
      ])
    ])
    error_message = "A transform step may only set the fields of its op: value for set, to for rename, template for derive, format for timestamp."
  }

  validation {
    # Lambda caps all environment variables of a function at 4 KB together; the steps travel in one of
    # them, next to the table names and settings. length(base64) * 3 / 4 bounds the UTF-8 byte count.
    condition = try(length(base64encode(jsonencode([
      for s in var.transform.steps : merge(
        { op = s.op, attribute = s.attribute },
        s.op == "set" ? { value = jsondecode(s.value) } : {},
        s.op == "rename" ? { to = s.to } : {},
        s.op == "derive" ? { template = s.template } : {},
        s.op == "timestamp" ? { format = coalesce(s.format, "iso8601") } : {},
      )
    ]))) * 3 / 4 <= 3072, true)
    error_message = "The transform steps are too large: as JSON they must fit in 3 KB, because Lambda limits a function's environment variables to 4 KB in total. Move the logic into transform.custom_file."
  }

  validation {
    condition     = var.transform.custom_file == null || try(endswith(var.transform.custom_file, ".py") && fileexists(var.transform.custom_file), false)
    error_message = "transform.custom_file must be the path of an existing .py file (relative to the directory Terraform runs in)."
  }
}

variable "allow_target_cleanup" {
  description = "Allow runs with cleanup_destination_table, which delete every item of the target before copying: grants the worker dynamodb:Scan on the target table. Without it the plan step refuses such a run with InvalidInput."
  type        = bool
  default     = false
}

variable "powertools" {
  description = <<-EOT
    How the Lambdas get Powertools for AWS Lambda (Python) v3:
      source = "bundle" (default): the release the module is tested with (aws-lambda-powertools 3.37.0 and
               its dependency typing-extensions 4.16.0, pinned wheels in modules/lambda_function/vendor) is
               packed into each zip, about 1 MB. Works in every partition, offline, and on LocalStack, whose
               Community edition cannot fetch AWS's public layers.
      source = "layer": attach a layer instead: layer_arn, or null for AWS's public Powertools layer of the
               region, runtime and architecture (version 27, commercial partition only). The Powertools
               release in a layer is AWS's; the module is tested with the bundled one.
  EOT
  type = object({
    source    = optional(string, "bundle")
    layer_arn = optional(string)
  })
  default  = {}
  nullable = false

  validation {
    condition     = contains(["bundle", "layer"], var.powertools.source)
    error_message = "powertools.source must be bundle or layer."
  }

  validation {
    condition     = var.powertools.layer_arn == null || (var.powertools.source == "layer" && can(regex("^arn:aws[a-z-]*:lambda:[a-z0-9-]+:[0-9]{12}:layer:[A-Za-z0-9_-]+:[0-9]+$", coalesce(var.powertools.layer_arn, "-"))))
    error_message = "powertools.layer_arn must be a Lambda layer version ARN (arn:<partition>:lambda:<region>:<account>:layer:<name>:<version>), and only with source = \"layer\"."
  }
}

variable "lambda_runtime" {
  description = "Python runtime of the Lambdas."
  type        = string
  default     = "python3.12"

  validation {
    condition     = can(regex("^python3\\.(1[1-9]|[2-9][0-9])$", var.lambda_runtime))
    error_message = "lambda_runtime must be a Lambda Python runtime from python3.11 on, such as python3.12."
  }
}

variable "architecture" {
  description = "Instruction set architecture of the Lambdas: x86_64 or arm64 (arm64 costs less per GB-second)."
  type        = string
  default     = "x86_64"

  validation {
    condition     = contains(["x86_64", "arm64"], var.architecture)
    error_message = "architecture must be x86_64 or arm64."
  }
}

variable "python_executable" {
  description = "Python 3 interpreter that builds the Lambda zips (with the standard library only) on the machine running Terraform."
  type        = string
  default     = "python3"

  validation {
    condition     = length(trimspace(var.python_executable)) > 0
    error_message = "python_executable must not be empty."
  }
}

variable "log_retention_days" {
  description = "Retention in days of every log group of the module (0 keeps logs forever)."
  type        = number
  default     = 30

  validation {
    condition     = contains([0, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of the values CloudWatch Logs accepts: 0 (never expire), 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653."
  }
}

variable "kms_key_arn" {
  description = "Optional customer managed KMS key ARN that encrypts the state table, the replication queues and every log group. Its key policy must allow CloudWatch Logs (the logs.<region>.amazonaws.com service principal) and let IAM policies grant its use; see docs/OBSERVABILITY.md. null uses AWS owned and AWS managed keys."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:<partition>:kms:<region>:<account>:key/<id>); aliases are not accepted by CloudWatch Logs."
  }
}

variable "tracing_enabled" {
  description = "Turn on AWS X-Ray tracing for the state machine and the Lambdas."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
  nullable    = false

  validation {
    # 50 is the per-resource limit of the services the module tags (Lambda, DynamoDB, SQS, IAM, Step Functions,
    # CloudWatch); a plan-time error beats an apply that fails halfway through.
    condition     = length(var.tags) <= 50
    error_message = "tags may hold at most 50 tags (the per-resource limit of AWS)."
  }

  validation {
    condition = alltrue([
      for key, value in var.tags : length(key) >= 1 && length(key) <= 128 && length(value) <= 256 && !startswith(key, "aws:")
    ])
    error_message = "Every tag key must be 1-128 characters and not start with the reserved prefix aws:, and every value at most 256 characters."
  }
}

variable "replication" {
  description = <<-EOT
    Live replication of the source table's changes to the target (modules/replication): source stream ->
    forwarder Lambda -> FIFO SQS queue -> consumer Lambda -> target, in per-item order, through the same
    transform as the backfill. The source table needs a stream with view type NEW_AND_OLD_IMAGES and must
    differ from the target.
      enabled          - deploy it (default false; every replication output is null while off)
      consumer_enabled - whether the consumer drains the queue. Deploy with false before a backfill, so changes
                         buffer in the queue instead of racing the bulk copy, then start it with
                         `ddb-migrate replication resume` when the backfill is done. Terraform is authoritative:
                         the next apply sets the mapping back to this value (the plan shows it), so set it to
                         true once you have resumed with the CLI.
      cutoff_timestamp - RFC 3339 with timezone (2025-01-31T11:59:00Z) or null. Events before it are dropped:
                         the target already holds them. For a target restored from a backup, use the backup
                         time minus 60 seconds (backups are fuzzy by up to a minute; earlier is always safe).
      stream_batch_size (1-10000, 100), stream_parallelization_factor (1-10, 1; per-item order holds at any
      value), stream_maximum_batching_window_in_seconds (0-300, 0), stream_bisect_batch_on_function_error
      (false: the forwarder reports the exact record to retry from), stream_maximum_retry_attempts (-1 =
      until the record expires, or 0-10000) and stream_maximum_record_age_in_seconds (-1, or 60-604800):
      the stream mapping. Keep -1/-1 so that no record is ever skipped; records still failing go to the
      stream failure queue (output stream_failure_queue_url).
      queue_message_retention_seconds (60-1209600, 14 days), queue_visibility_timeout_seconds (null = 6 x
      consumer.timeout, or at least that), high_throughput_fifo (true), max_receive_count (1-1000, 5; then
      the FIFO DLQ), max_message_bytes (16384-262144; larger records are re-read from the source).
      consumer_batch_size (1-10), consumer_maximum_concurrency (null or 2-1000).
      forwarder / consumer: memory_size (128-10240 MB, 256), timeout (10-900 s, 60), max_attempts (1-100, 8),
      backoff_base_ms (50) and backoff_cap_ms (5000), time_safety_margin_seconds (10, below timeout).
  EOT
  type = object({
    enabled          = optional(bool, false)
    consumer_enabled = optional(bool, true)
    cutoff_timestamp = optional(string)

    stream_batch_size                         = optional(number, 100)
    stream_parallelization_factor             = optional(number, 1)
    stream_maximum_batching_window_in_seconds = optional(number, 0)
    stream_bisect_batch_on_function_error     = optional(bool, false)
    stream_maximum_retry_attempts             = optional(number, -1)
    stream_maximum_record_age_in_seconds      = optional(number, -1)

    queue_message_retention_seconds  = optional(number, 1209600)
    queue_visibility_timeout_seconds = optional(number)
    high_throughput_fifo             = optional(bool, true)
    max_receive_count                = optional(number, 5)
    max_message_bytes                = optional(number, 262144)

    consumer_batch_size          = optional(number, 10)
    consumer_maximum_concurrency = optional(number)

    forwarder = optional(object({
      memory_size                = optional(number, 256)
      timeout                    = optional(number, 60)
      max_attempts               = optional(number, 8)
      backoff_base_ms            = optional(number, 50)
      backoff_cap_ms             = optional(number, 5000)
      time_safety_margin_seconds = optional(number, 10)
    }), {})
    consumer = optional(object({
      memory_size                = optional(number, 256)
      timeout                    = optional(number, 60)
      max_attempts               = optional(number, 8)
      backoff_base_ms            = optional(number, 50)
      backoff_cap_ms             = optional(number, 5000)
      time_safety_margin_seconds = optional(number, 10)
    }), {})
  })
  default  = {}
  nullable = false

  # The root module owns every default and validation of replication; modules/replication takes the object as
  # it is (and `terraform test` can expect failures of the root module's variables, not of a child module's).

  validation {
    condition     = var.replication.cutoff_timestamp == null || try(can(regex("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$", var.replication.cutoff_timestamp)) && can(timeadd(var.replication.cutoff_timestamp, "0s")), false)
    error_message = "replication.cutoff_timestamp must be an RFC 3339 timestamp with a timezone, such as 2025-01-31T11:59:00Z or 2025-01-31T12:59:00.500+01:00 (upper-case T and Z, a real calendar date and time), or null. For a restored backup, use the backup time minus 60 seconds."
  }

  validation {
    condition     = var.replication.stream_batch_size >= 1 && var.replication.stream_batch_size <= 10000 && floor(var.replication.stream_batch_size) == var.replication.stream_batch_size
    error_message = "replication.stream_batch_size must be a whole number from 1 to 10,000 (the DynamoDB Streams event source mapping limit)."
  }

  validation {
    condition     = var.replication.stream_parallelization_factor >= 1 && var.replication.stream_parallelization_factor <= 10 && floor(var.replication.stream_parallelization_factor) == var.replication.stream_parallelization_factor
    error_message = "replication.stream_parallelization_factor must be a whole number from 1 to 10 (concurrent batches per shard; Lambda keeps each item's records in order at any value)."
  }

  validation {
    condition     = var.replication.stream_maximum_batching_window_in_seconds >= 0 && var.replication.stream_maximum_batching_window_in_seconds <= 300 && floor(var.replication.stream_maximum_batching_window_in_seconds) == var.replication.stream_maximum_batching_window_in_seconds
    error_message = "replication.stream_maximum_batching_window_in_seconds must be a whole number of seconds from 0 to 300."
  }

  validation {
    condition     = var.replication.stream_maximum_retry_attempts >= -1 && var.replication.stream_maximum_retry_attempts <= 10000 && floor(var.replication.stream_maximum_retry_attempts) == var.replication.stream_maximum_retry_attempts
    error_message = "replication.stream_maximum_retry_attempts must be -1 (retry until the record expires, the default: no record is ever skipped) or a whole number from 0 to 10,000."
  }

  validation {
    condition     = var.replication.stream_maximum_record_age_in_seconds == -1 || (var.replication.stream_maximum_record_age_in_seconds >= 60 && var.replication.stream_maximum_record_age_in_seconds <= 604800 && floor(var.replication.stream_maximum_record_age_in_seconds) == var.replication.stream_maximum_record_age_in_seconds)
    error_message = "replication.stream_maximum_record_age_in_seconds must be -1 (until the record expires, the default) or a whole number of seconds from 60 to 604,800."
  }

  validation {
    condition     = var.replication.queue_message_retention_seconds >= 60 && var.replication.queue_message_retention_seconds <= 1209600 && floor(var.replication.queue_message_retention_seconds) == var.replication.queue_message_retention_seconds
    error_message = "replication.queue_message_retention_seconds must be a whole number of seconds from 60 to 1,209,600 (14 days, the SQS maximum)."
  }

  validation {
    condition     = var.replication.queue_visibility_timeout_seconds == null || try(var.replication.queue_visibility_timeout_seconds >= 6 * var.replication.consumer.timeout && var.replication.queue_visibility_timeout_seconds <= 43200 && floor(var.replication.queue_visibility_timeout_seconds) == var.replication.queue_visibility_timeout_seconds, false)
    error_message = "replication.queue_visibility_timeout_seconds must be null (6 x consumer.timeout) or a whole number of seconds from 6 x replication.consumer.timeout (Lambda's minimum for an SQS source) to 43,200."
  }

  validation {
    condition     = var.replication.max_receive_count >= 1 && var.replication.max_receive_count <= 1000 && floor(var.replication.max_receive_count) == var.replication.max_receive_count
    error_message = "replication.max_receive_count must be a whole number from 1 to 1,000."
  }

  validation {
    condition     = var.replication.max_message_bytes >= 16384 && var.replication.max_message_bytes <= 262144 && floor(var.replication.max_message_bytes) == var.replication.max_message_bytes
    error_message = "replication.max_message_bytes must be a whole number from 16,384 (fits any key and the envelope) to 262,144 (the largest MaximumMessageSize the hashicorp/aws provider accepts)."
  }

  validation {
    condition     = var.replication.consumer_batch_size >= 1 && var.replication.consumer_batch_size <= 10 && floor(var.replication.consumer_batch_size) == var.replication.consumer_batch_size
    error_message = "replication.consumer_batch_size must be a whole number from 1 to 10 (the event source mapping limit for a FIFO queue)."
  }

  validation {
    condition     = var.replication.consumer_maximum_concurrency == null || try(var.replication.consumer_maximum_concurrency >= 2 && var.replication.consumer_maximum_concurrency <= 1000 && floor(var.replication.consumer_maximum_concurrency) == var.replication.consumer_maximum_concurrency, false)
    error_message = "replication.consumer_maximum_concurrency must be null or a whole number from 2 to 1,000."
  }

  validation {
    condition = alltrue([
      for settings in [var.replication.forwarder, var.replication.consumer] :
      settings.memory_size >= 128 && settings.memory_size <= 10240 && floor(settings.memory_size) == settings.memory_size
    ])
    error_message = "replication.forwarder.memory_size and replication.consumer.memory_size must be whole numbers of MB from 128 to 10240."
  }

  validation {
    condition = alltrue([
      for settings in [var.replication.forwarder, var.replication.consumer] :
      settings.timeout >= 10 && settings.timeout <= 900 && floor(settings.timeout) == settings.timeout
    ])
    error_message = "replication.forwarder.timeout and replication.consumer.timeout must be whole numbers of seconds from 10 to 900."
  }

  validation {
    condition = alltrue([
      for settings in [var.replication.forwarder, var.replication.consumer] :
      settings.max_attempts >= 1 && settings.max_attempts <= 100 && floor(settings.max_attempts) == settings.max_attempts
    ])
    error_message = "replication.forwarder.max_attempts and replication.consumer.max_attempts must be whole numbers from 1 to 100."
  }

  validation {
    condition = alltrue([
      for settings in [var.replication.forwarder, var.replication.consumer] :
      settings.backoff_base_ms >= 1 && settings.backoff_cap_ms >= settings.backoff_base_ms && settings.backoff_cap_ms <= 300000 && floor(settings.backoff_base_ms) == settings.backoff_base_ms && floor(settings.backoff_cap_ms) == settings.backoff_cap_ms
    ])
    error_message = "replication.forwarder and replication.consumer need whole milliseconds with 1 <= backoff_base_ms <= backoff_cap_ms <= 300000."
  }

  validation {
    condition = alltrue([
      for settings in [var.replication.forwarder, var.replication.consumer] :
      settings.time_safety_margin_seconds >= 1 && settings.time_safety_margin_seconds < settings.timeout && floor(settings.time_safety_margin_seconds) == settings.time_safety_margin_seconds
    ])
    error_message = "replication.forwarder.time_safety_margin_seconds and replication.consumer.time_safety_margin_seconds must be whole numbers of seconds, at least 1 and less than the function's timeout."
  }
}

variable "prewarm" {
  description = <<-EOT
    Capacity pre-warm: states before the backfill's Maps raise the tables' capacity, and states after them (on
    success and on failure) put it back.
      enabled                   - deploy it: the capacity states, and the worker's dynamodb:UpdateTable on the
                                  source and target tables plus the Application Auto Scaling calls (default
                                  false: a run that asks for pre-warm is then refused).
      by_default                - runs pre-warm unless their input says "prewarm": false (default true; only with
                                  enabled).
      read_capacity_units       - read capacity for the tables a run scans or reads (12000, the seed's PREWARM_RCU).
      write_capacity_units      - write capacity for the table a run writes and each of its GSIs (4000, the
                                  seed's PREWARM_WCU).
      warm_throughput_on_demand - also pre-warm on-demand tables with warm throughput (default false: it is
                                  billed and can never be lowered again on the base table).
    Provisioned tables get their ProvisionedThroughput raised; tables under auto scaling get their scalable
    target's minimum raised; nothing is ever lowered below what it already is. The reset restores the original
    values; DynamoDB allows about 27 decreases a day, and a refused one is reported with the command to run.
    A run overrides the units with prewarm_rcu / prewarm_wcu (ddb-migrate run --prewarm-rcu/--prewarm-wcu).
  EOT
  type = object({
    enabled                   = optional(bool, false)
    by_default                = optional(bool, true)
    read_capacity_units       = optional(number, 12000)
    write_capacity_units      = optional(number, 4000)
    warm_throughput_on_demand = optional(bool, false)
  })
  default  = {}
  nullable = false

  validation {
    condition     = var.prewarm.read_capacity_units >= 1 && var.prewarm.read_capacity_units <= 40000 && floor(var.prewarm.read_capacity_units) == var.prewarm.read_capacity_units
    error_message = "prewarm.read_capacity_units must be a whole number from 1 to 40,000 (DynamoDB's default per-table capacity quota)."
  }

  validation {
    condition     = var.prewarm.write_capacity_units >= 1 && var.prewarm.write_capacity_units <= 40000 && floor(var.prewarm.write_capacity_units) == var.prewarm.write_capacity_units
    error_message = "prewarm.write_capacity_units must be a whole number from 1 to 40,000 (DynamoDB's default per-table capacity quota)."
  }

  validation {
    condition     = !(var.prewarm.enabled && var.target_account != null)
    error_message = "prewarm.enabled needs the target table in this account: pre-warm changes the tables' capacity and Application Auto Scaling settings, which it cannot do in another account. Raise the target's capacity in its own account before the run, and disable prewarm."
  }
}

variable "capacity_budget" {
  description = <<-EOT
    The default capacity budget of every run, which a run's own max_read_rate / max_write_rate replace
    (ddb-migrate run --max-read-rate / --max-write-rate; "" in the input turns the default off):
      max_read_rate  - read units per second on each table the run reads (the source; the target too in verify
                       and cleanup): units ("500") or a share of the table's capacity ("25%").
      max_write_rate - write units per second on the table the run writes, GSI writes included, in the same forms.
    null: no budget. A share is of the table's provisioned capacity (its auto-scaling maximum if it has one, or
    what pre-warm raises it to), an on-demand table's maximum throughput, else its warm throughput. The budget
    holds for the whole run, shared between the segments running at once, and is measured from the
    ConsumedCapacity DynamoDB returns.
  EOT
  type = object({
    max_read_rate  = optional(string)
    max_write_rate = optional(string)
  })
  default  = {}
  nullable = false

  validation {
    condition = alltrue([
      for rate in [var.capacity_budget.max_read_rate, var.capacity_budget.max_write_rate] :
      rate == null ? true : (
        can(regex("^[0-9]+(\\.[0-9]+)?%?$", rate)) &&
        try(tonumber(trimsuffix(rate, "%")) > 0, false) &&
        (!endswith(rate, "%") || try(tonumber(trimsuffix(rate, "%")) <= 100, false))
      )
    ])
    error_message = "capacity_budget.max_read_rate and max_write_rate must be units per second above 0 (\"500\") or a share of the table's capacity above 0% and at most 100% (\"25%\")."
  }
}

variable "export" {
  description = <<-EOT
    Backfill from a DynamoDB point-in-time export instead of a Scan: the state machine exports the source table
    (ExportTableToPointInTime, DYNAMODB_JSON) into an S3 bucket, waits for the export, and copies its data files
    in the Distributed Map, one file per segment, through the same transform, budget and checkpoints. The export
    reads the table's point-in-time-recovery backup, not its capacity, so the source needs PITR; DynamoDB bills it
    per GB of the table. A run picks it with "source": "export" in its input, or reuses a finished export of the
    source table with "export_arn".
      enabled       - deploy it: the export states, the bucket (unless bucket_name), and the worker's export,
                      DescribeExport and bucket permissions (default false: a run with source export is refused).
      by_default    - runs use the export unless their input says "source": "scan" (default false; only with
                      enabled).
      bucket_name   - an existing bucket to export into, in any region. Another account's (bucket_owner) must
                      allow the worker's role (output worker_role_arn) s3:PutObject, s3:PutObjectAcl,
                      s3:AbortMultipartUpload and s3:GetObject on <prefix>/<name>/* in its bucket policy. null: the
                      module creates one (modules/export_bucket): default encryption (SSE-KMS with the root
                      kms_key_arn when set, else SSE-S3), public access blocked, ACLs disabled, TLS only, exports
                      expiring after expiry_days.
      bucket_owner  - account ID of bucket_name's owner when not this account (ExportTableToPointInTime's
                      S3BucketOwner); null: this account. Only with bucket_name.
      prefix        - S3 prefix of the exports, without leading or trailing slash (default "ddb-migrate"); this
                      deployment writes under <prefix>/<name>/, so deployments can share a bucket.
      expiry_days   - days after which the created bucket deletes an export (default 7; at least 1). Without
                      bucket_name only: a bucket of your own keeps its own lifecycle.
      kms_key_arn   - customer managed key of bucket_name's default encryption, if any: DynamoDB writes the
                      export with the worker's permissions, so the worker gets kms:GenerateDataKey and kms:Decrypt
                      on it (through S3 only). Only with bucket_name; the created bucket uses the root kms_key_arn.
      poll_seconds  - wait between two DescribeExport checks (1-3600, default 60). Each check adds 9 events to
                      the execution's history, which holds 25,000: keep poll_seconds x 2,000 above the longest
                      export you expect (at 60 s, 33 hours).
      force_destroy - let terraform destroy delete the created bucket with exports still in it (default false).
  EOT
  type = object({
    enabled       = optional(bool, false)
    by_default    = optional(bool, false)
    bucket_name   = optional(string)
    bucket_owner  = optional(string)
    prefix        = optional(string, "ddb-migrate")
    expiry_days   = optional(number, 7)
    kms_key_arn   = optional(string)
    poll_seconds  = optional(number, 60)
    force_destroy = optional(bool, false)
  })
  default  = {}
  nullable = false

  validation {
    condition     = !var.export.by_default || var.export.enabled
    error_message = "export.by_default needs export.enabled: without it the state machine has no export states and the worker no export permissions."
  }

  validation {
    condition     = var.export.poll_seconds >= 1 && var.export.poll_seconds <= 3600 && floor(var.export.poll_seconds) == var.export.poll_seconds
    error_message = "export.poll_seconds must be a whole number of seconds from 1 to 3600."
  }

  validation {
    condition     = var.export.expiry_days >= 1 && floor(var.export.expiry_days) == var.export.expiry_days
    error_message = "export.expiry_days must be a whole number of days, at least 1 (S3 lifecycle expiration counts whole days)."
  }

  validation {
    # S3's safe key characters but "*", which in the worker's IAM resource ARN would be a wildcard; no empty
    # segment, so no leading, trailing or double slash. The data files' keys add about 120 characters.
    condition     = length(var.export.prefix) <= 512 && can(regex("^[A-Za-z0-9!_.'()-]+(/[A-Za-z0-9!_.'()-]+)*$", var.export.prefix))
    error_message = "export.prefix must be 1-512 characters of letters, digits and !_.'()- in segments separated by single slashes, without a leading or trailing slash (for example ddb-migrate or exports/orders)."
  }

  validation {
    # S3's bucket naming rules (general purpose buckets): 3-63 lower-case letters, digits, dots and hyphens,
    # starting and ending with a letter or digit, no adjacent dots, not shaped like an IP address, none of the
    # reserved prefixes and suffixes.
    condition = var.export.bucket_name == null || try(
      can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.export.bucket_name)) &&
      !strcontains(var.export.bucket_name, "..") &&
      !can(regex("^[0-9]+\\.[0-9]+\\.[0-9]+\\.[0-9]+$", var.export.bucket_name)) &&
      !anytrue([for prefix in ["xn--", "sthree-", "amzn-s3-demo-"] : startswith(var.export.bucket_name, prefix)]) &&
      !anytrue([for suffix in ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"] : endswith(var.export.bucket_name, suffix)]),
      false
    )
    error_message = "export.bucket_name must be null (the module creates a bucket) or an S3 general purpose bucket name: 3-63 lower-case letters, digits, dots and hyphens, starting and ending with a letter or digit, without adjacent dots, not an IP address, not starting with xn--, sthree- or amzn-s3-demo- and not ending with -s3alias, --ol-s3, .mrap, --x-s3 or --table-s3."
  }

  validation {
    condition     = var.export.bucket_owner == null || try(var.export.bucket_name != null && can(regex("^[0-9]{12}$", var.export.bucket_owner)), false)
    error_message = "export.bucket_owner must be a 12-digit AWS account ID, and only with export.bucket_name (the bucket the module creates is this account's)."
  }

  validation {
    condition     = var.export.kms_key_arn == null || try(var.export.bucket_name != null && can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", var.export.kms_key_arn)), false)
    error_message = "export.kms_key_arn must be a KMS key ARN (arn:<partition>:kms:<region>:<account>:key/<id>; an alias does not name the key IAM grants), and only with export.bucket_name: the bucket the module creates uses the root variable kms_key_arn."
  }
}

variable "alarms" {
  description = <<-EOT
    CloudWatch alarms on the deployment (modules/alarms, docs/OBSERVABILITY.md): a failed backfill run, worker
    errors, and with replication a non-empty dead-letter queue, a non-empty stream failure queue, the forwarder
    falling behind, and consumer errors. Alarms of features that are off are not created.
      enabled                        - create them (default false)
      sns_topic_arn                  - SNS topic notified when an alarm fires; null creates the alarms without
                                       notifications
      notify_ok                      - also notify the topic when an alarm returns to OK (default true)
      iterator_age_threshold_seconds - the forwarder alarm fires when the newest record it read is older than
                                       this (1-86400, default 300; stream records expire after 24 hours)
      period_seconds                 - period of every alarm, a multiple of 60 (default 60)
      evaluation_periods             - consecutive breaching periods before an alarm fires (default 1)
  EOT
  type = object({
    enabled                        = optional(bool, false)
    sns_topic_arn                  = optional(string)
    notify_ok                      = optional(bool, true)
    iterator_age_threshold_seconds = optional(number, 300)
    period_seconds                 = optional(number, 60)
    evaluation_periods             = optional(number, 1)
  })
  default  = {}
  nullable = false

  validation {
    condition     = var.alarms.sns_topic_arn == null || can(regex("^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}(\\.fifo)?$", var.alarms.sns_topic_arn))
    error_message = "alarms.sns_topic_arn must be null or an SNS topic ARN (arn:<partition>:sns:<region>:<account>:<topic name>)."
  }

  validation {
    condition     = var.alarms.iterator_age_threshold_seconds >= 1 && var.alarms.iterator_age_threshold_seconds <= 86400 && floor(var.alarms.iterator_age_threshold_seconds) == var.alarms.iterator_age_threshold_seconds
    error_message = "alarms.iterator_age_threshold_seconds must be a whole number of seconds from 1 to 86400: stream records expire after 24 hours, so a higher threshold would only fire after changes are lost."
  }

  validation {
    condition     = var.alarms.period_seconds >= 60 && var.alarms.period_seconds % 60 == 0
    error_message = "alarms.period_seconds must be a multiple of 60: the Lambda, SQS and Step Functions metrics have 1-minute resolution."
  }

  validation {
    condition     = var.alarms.evaluation_periods >= 1 && floor(var.alarms.evaluation_periods) == var.alarms.evaluation_periods
    error_message = "alarms.evaluation_periods must be a whole number of at least 1."
  }

  validation {
    condition     = var.alarms.period_seconds * var.alarms.evaluation_periods <= (var.alarms.period_seconds < 3600 ? 86400 : 604800)
    error_message = "alarms.period_seconds x alarms.evaluation_periods is longer than CloudWatch evaluates: at most one day for periods under an hour, seven days otherwise."
  }
}

variable "dashboard" {
  description = <<-EOT
    A CloudWatch dashboard of the migration (modules/dashboard, docs/OBSERVABILITY.md): backfill items scanned
    and written per minute, write retries and throttles, failed segments and runs; with replication the change
    events forwarded, applied and dropped before the cutoff, retries and failures, the queue's depth and the
    age of its oldest message, the dead-letter and stream failure queues, and the stream's iterator age.
      enabled - create it. Unset (null) follows alarms.enabled: whoever is paged by the alarms needs the
                dashboard to see why, and a deployment without alarms gets no dashboard it did not ask for
                (beyond three per account, dashboards cost money). Set it to have one without alarms, or
                none with them.
      name    - dashboard name (letters, digits, - and _; default "<name>-migration")
  EOT
  type = object({
    enabled = optional(bool)
    name    = optional(string)
  })
  default  = {}
  nullable = false

  validation {
    condition     = var.dashboard.name == null || can(regex("^[A-Za-z0-9_-]{1,255}$", var.dashboard.name))
    error_message = "dashboard.name must be null or 1 to 255 letters, digits, hyphens and underscores (CloudWatch's rule for dashboard names)."
  }
}
