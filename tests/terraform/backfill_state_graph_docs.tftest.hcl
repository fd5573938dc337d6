# docs/ARCHITECTURE.md holds the one diagram of the state machine; it must name exactly the transitions of the
# definition (with pre-warm and export, the graph that holds every state).

mock_provider "aws" {
  override_during = plan
  source          = "./tests/terraform/mocks"
}

variables {
  prewarm = { enabled = true }
  export  = { enabled = true }
}

run "architecture_diagram_matches_the_definition" {
  command = plan

  assert {
    condition = sort(distinct([
      for edge in regexall("(?m)^\\s*([A-Za-z?]+) --> ([A-Za-z?]+)\\s*$", regex("(?s)<!-- BEGIN_STATE_GRAPH -->(.*)<!-- END_STATE_GRAPH -->", file("docs/ARCHITECTURE.md"))[0]) : "${edge[0]} --> ${edge[1]}"
      ])) == sort(distinct(flatten([
        for states in concat(
          [jsondecode(module.backfill.state_machine_definition).States],
          [for state in values(jsondecode(module.backfill.state_machine_definition).States) : state.ItemProcessor.States if state.Type == "Map"],
          ) : [
          for name, state in states : [
            for target in concat(try([state.Next], []), try([state.Default], []), try(state.Choices[*].Next, []), try(state.Catch[*].Next, [])) : "${name} --> ${target}"
          ]
        ]
    ])))
    error_message = "The state graph in docs/ARCHITECTURE.md (between the STATE_GRAPH markers) differs from the definition, whose transitions are:\n${join("\n", sort(distinct(flatten([for states in concat([jsondecode(module.backfill.state_machine_definition).States], [for state in values(jsondecode(module.backfill.state_machine_definition).States) : state.ItemProcessor.States if state.Type == "Map"]) : [for name, state in states : [for target in concat(try([state.Next], []), try([state.Default], []), try(state.Choices[*].Next, []), try(state.Catch[*].Next, [])) : "${name} --> ${target}"]]]))))}"
  }
}
