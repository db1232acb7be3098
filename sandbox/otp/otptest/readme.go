package otptest

// ReadmeTree is the README's supervision example as one execution: a
// counter worker ("inc" answers the count, the cast "crash" fails it)
// started as child "c" of a one_for_one tree (intensity 3 in 5 s) bound
// to sup. Tests of the sandboxes, the node and the console start from it.
const ReadmeTree = `def init(args):
    return 0

def handle_call(msg, state):
    return (state + 1, state + 1)

def handle_cast(msg, state):
    if msg == "crash":
        fail("boom")
    return state

counter = worker(init=init, handle_call=handle_call, handle_cast=handle_cast)
sup = start_supervisor(supervisor(strategy="one_for_one", intensity=3, period=5,
                                  children=[{"id": "c", "start": counter}]))
`
