// Package events has the two pieces every event stream of a node is made
// of: a Queue, the bounded buffer of one consumer that tells it how many
// events it missed instead of slowing the producer, and a Bus, a stream
// of events with ids that consumers subscribe to and resume (after the
// id they saw last, as Server-Sent Events' Last-Event-ID does).
package events
